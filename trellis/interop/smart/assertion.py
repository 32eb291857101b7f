"""Checking a client assertion: the signed JWT a backend client sends instead of a secret.

What SMART Backend Services asks of it, all checked here:

- header: `alg` RS384 or ES384 (never `none`, an HMAC or RS256), `kid` naming a key of the
  client's registered JWK Set, of the type the algorithm needs;
- signature: made by that key;
- claims: `iss` and `sub` both the client's `client_id`, `aud` the token endpoint's URL,
  `exp` in the future but no more than five minutes ahead, `jti` present (that it was
  never used before is the service's check, against the database), `nbf` and `iat`, when
  present, not in the future.

`read_client_id` reads who claims to be calling (unverified, only to find their keys);
`verify` does the rest for a client whose JWK Set is known. Every refusal is an
`AssertionRefused` whose message says what was wrong, for the `error_description`.
Time is passed in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from jwt.exceptions import InvalidAudienceError, InvalidSignatureError, PyJWTError

from trellis.interop.smart import keys

MAX_LIFETIME_SECONDS = 300
# How far ahead of Trellis's clock a client's clock may run before its assertion is refused.
CLOCK_SKEW_SECONDS = 30
MAX_ASSERTION_CHARS = 16_000


class AssertionRefused(Exception):
    """The assertion does not prove who the client is: OAuth `invalid_client`, HTTP 401."""


@dataclass(frozen=True)
class Claims:
    client_id: str
    jti: str
    expires: datetime


def _header(assertion: str) -> dict[str, Any]:
    if not assertion or len(assertion) > MAX_ASSERTION_CHARS:
        raise AssertionRefused("The client assertion is missing or too long.")
    try:
        return jwt.get_unverified_header(assertion)
    except PyJWTError:
        raise AssertionRefused("The client assertion is not a signed JWT.") from None


def read_client_id(assertion: str) -> str:
    """The `iss` the assertion claims, unverified: only to find whose keys check it."""
    _header(assertion)
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except PyJWTError:
        raise AssertionRefused("The client assertion's claims cannot be read.") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AssertionRefused("The client assertion has no iss (the client_id).")
    return issuer


def verify(
    assertion: str,
    *,
    client_id: str,
    jwks: dict[str, Any],
    audiences: Collection[str],
    now: datetime,
) -> Claims:
    """The assertion's claims, once its header, signature and claims are all as SMART
    asks (see the module); AssertionRefused otherwise."""
    header = _header(assertion)
    alg = header.get("alg")
    if alg not in keys.SIGNING_ALGS:
        raise AssertionRefused(
            f"The client assertion is signed with {alg!r}; sign it with RS384 or ES384."
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AssertionRefused("The client assertion's header has no kid.")
    jwk = keys.key_for(jwks, kid)
    if jwk is None:
        raise AssertionRefused(f"No key with kid {kid!r} is registered for this client.")
    if keys.alg_for(jwk) != alg:
        raise AssertionRefused(f"The key {kid!r} does not sign with {alg}.")
    try:
        public_key = keys.load_public_key(jwk)
    except keys.KeyProblem:
        raise AssertionRefused(f"The registered key {kid!r} cannot be used.") from None
    try:
        claims = jwt.decode(
            assertion,
            key=public_key,
            algorithms=[alg],
            audience=list(audiences),
            options={
                "require": ["iss", "sub", "aud", "exp", "jti"],
                # Times are checked below against `now`, not the library's clock.
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except InvalidSignatureError:
        raise AssertionRefused("The client assertion's signature does not verify.") from None
    except InvalidAudienceError:
        raise AssertionRefused(
            "The client assertion's aud is not this token endpoint's URL."
        ) from None
    except PyJWTError as error:
        raise AssertionRefused(f"The client assertion is not acceptable: {error}.") from None
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionRefused("The client assertion's iss and sub must both be the client_id.")
    return Claims(client_id=client_id, jti=_jti(claims), expires=_check_times(claims, now))


def _jti(claims: dict[str, Any]) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise AssertionRefused(
            "The client assertion's jti must be a string of 1 to 200 characters."
        )
    return jti


def _timestamp(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AssertionRefused(f"The client assertion's {name} is not a number of seconds.")
    return float(value)


def _check_times(claims: dict[str, Any], now: datetime) -> datetime:
    moment = now.timestamp()
    exp = _timestamp(claims, "exp")
    assert exp is not None  # required above
    if exp <= moment:
        raise AssertionRefused("The client assertion has expired; make a new one.")
    if exp > moment + MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise AssertionRefused("The client assertion's exp is more than five minutes ahead.")
    for name in ("nbf", "iat"):
        value = _timestamp(claims, name)
        if value is not None and value > moment + CLOCK_SKEW_SECONDS:
            raise AssertionRefused(f"The client assertion's {name} is in the future.")
    return datetime.fromtimestamp(exp, tz=now.tzinfo)
