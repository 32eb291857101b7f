"""A backend client's public keys: the JWK Set a clinic admin pastes or uploads.

Checked before anything is stored, so a client can never be registered with a key
Trellis would refuse later, or with a private key it should never have seen:

- a JSON object with a non-empty `keys` list;
- every key public only (no `d`, `p`, `q`, ... members), with its own `kid`;
- RSA keys of at least 2048 bits (signing RS384), or EC keys on P-384 (signing ES384);
- `alg`, `use` and `key_ops`, when given, agreeing with signing by that algorithm.

Pure: no database. `KeyProblem` carries a message a clinic admin can act on.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils.translation import gettext as _
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

MIN_RSA_BITS = 2048
RSA_ALG = "RS384"
EC_ALG = "ES384"
EC_CURVE = "P-384"
SIGNING_ALGS = (RSA_ALG, EC_ALG)
# The members a JWK may carry for each key type; anything else is dropped when stored.
PUBLIC_MEMBERS = {
    "RSA": ("kty", "kid", "alg", "use", "key_ops", "n", "e"),
    "EC": ("kty", "kid", "alg", "use", "key_ops", "crv", "x", "y"),
}
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_KEYS = 20
MAX_JWKS_BYTES = 64 * 1024

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class KeyProblem(ValueError):
    """The JWK Set cannot be used; the message says why, naming the key."""


def parse_jwks(text: str | bytes) -> dict[str, Any]:
    """The JWK Set in `text`, checked and reduced to its public members."""
    if isinstance(text, bytes):
        if len(text) > MAX_JWKS_BYTES:
            raise KeyProblem(_("The key set is too large: a JWK Set is a few kilobytes."))
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise KeyProblem(_("The key set is not text: upload the JSON file.")) from None
    if len(text) > MAX_JWKS_BYTES:
        raise KeyProblem(_("The key set is too large: a JWK Set is a few kilobytes."))
    if not text.strip():
        raise KeyProblem(_("Paste the client's JWK Set or upload it as a file."))
    try:
        document = json.loads(text)
    except ValueError as error:
        raise KeyProblem(
            _("The key set is not valid JSON (line %(line)s): %(reason)s")
            % {"line": getattr(error, "lineno", "?"), "reason": getattr(error, "msg", str(error))}
        ) from None
    return check_jwks(document)


def check_jwks(document: Any) -> dict[str, Any]:
    """A JWK Set already read from JSON, checked and reduced to its public members."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyProblem(_('A JWK Set is a JSON object with a "keys" list.'))
    keys = document["keys"]
    if not keys:
        raise KeyProblem(_("The key set has no keys."))
    if len(keys) > MAX_KEYS:
        raise KeyProblem(
            _("The key set has %(count)s keys; at most %(max)s are accepted.")
            % {"count": len(keys), "max": MAX_KEYS}
        )
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, jwk in enumerate(keys, start=1):
        key = check_jwk(jwk, number=number)
        if key["kid"] in seen:
            raise KeyProblem(
                _("Two keys share the kid “%(kid)s”; each key needs its own.") % {"kid": key["kid"]}
            )
        seen.add(key["kid"])
        checked.append(key)
    return {"keys": checked}


def check_jwk(jwk: Any, *, number: int = 1) -> dict[str, Any]:
    """One key of the set, checked; its public members only."""
    if not isinstance(jwk, dict):
        raise KeyProblem(_("Key %(n)s is not a JSON object.") % {"n": number})
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid.strip():
        raise KeyProblem(_('Key %(n)s has no "kid": every key needs an id.') % {"n": number})
    name = _("Key “%(kid)s”") % {"kid": kid}
    private = [member for member in PRIVATE_MEMBERS if member in jwk]
    if private:
        raise KeyProblem(
            _(
                "%(key)s is a private key (it has %(members)s). Register only the public "
                "key; the private key stays with the client."
            )
            % {"key": name, "members": ", ".join(private)}
        )
    kty = jwk.get("kty")
    if kty == "RSA":
        expected_alg = RSA_ALG
    elif kty == "EC":
        expected_alg = EC_ALG
    else:
        raise KeyProblem(
            _("%(key)s is of type “%(kty)s”; only RSA and EC (P-384) keys are accepted.")
            % {"key": name, "kty": kty}
        )
    alg = jwk.get("alg")
    if alg is not None and alg != expected_alg:
        raise KeyProblem(
            _("%(key)s says it signs with %(alg)s; a %(kty)s key must sign with %(expected)s.")
            % {"key": name, "alg": alg, "kty": kty, "expected": expected_alg}
        )
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise KeyProblem(
            _("%(key)s is not a signing key (use is “%(use)s”).") % {"key": name, "use": use}
        )
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise KeyProblem(
            _("%(key)s may not be used to verify signatures (key_ops).") % {"key": name}
        )
    public = {member: jwk[member] for member in PUBLIC_MEMBERS[kty] if member in jwk}
    loaded = load_public_key(public, name=name)
    if isinstance(loaded, rsa.RSAPublicKey) and loaded.key_size < MIN_RSA_BITS:
        raise KeyProblem(
            _("%(key)s is a %(bits)s-bit RSA key; at least %(min)s bits are needed.")
            % {"key": name, "bits": loaded.key_size, "min": MIN_RSA_BITS}
        )
    return public


def load_public_key(jwk: dict[str, Any], *, name: str = "") -> PublicKey:
    """The public key a checked JWK describes; KeyProblem if it does not describe one."""
    name = name or _("Key “%(kid)s”") % {"kid": jwk.get("kid", "?")}
    key: Any
    try:
        if jwk.get("kty") == "RSA":
            key = RSAAlgorithm.from_jwk(jwk)
        else:
            if jwk.get("crv") != EC_CURVE:
                raise KeyProblem(
                    _("%(key)s is on the curve “%(crv)s”; only P-384 keys are accepted.")
                    % {"key": name, "crv": jwk.get("crv")}
                )
            key = ECAlgorithm.from_jwk(jwk)
    except (InvalidKeyError, ValueError, TypeError, KeyError) as error:
        if isinstance(error, KeyProblem):
            raise
        raise KeyProblem(
            _("%(key)s cannot be read as a public key: %(reason)s") % {"key": name, "reason": error}
        ) from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise KeyProblem(_("%(key)s is not a public key.") % {"key": name})
    return key


def key_for(jwks: dict[str, Any], kid: str) -> dict[str, Any] | None:
    """The key of the set with this `kid`, or None."""
    for jwk in jwks.get("keys", []):
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            return jwk
    return None


def alg_for(jwk: dict[str, Any]) -> str:
    """The one algorithm a stored key signs with."""
    return RSA_ALG if jwk.get("kty") == "RSA" else EC_ALG


def describe(jwks: dict[str, Any]) -> list[str]:
    """Each key in a few words, for the clinic's page: its kid and kind."""
    described = []
    for jwk in jwks.get("keys", []):
        kind = "RSA" if jwk.get("kty") == "RSA" else "EC P-384"
        described.append(f"{jwk.get('kid', '?')} ({kind})")
    return described
