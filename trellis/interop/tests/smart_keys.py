"""Real key pairs and signed client assertions for the tests of SMART Backend Services and
Bulk Data: what a connecting EHR would make with its own private key."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from trellis.accounts.models import Organization, User
from trellis.interop.models import BackendClient
from trellis.interop.smart import scopes as smart_scopes
from trellis.interop.smart import services
from trellis.interop.smart.types import readable_types

TOKEN_PATH = "/fhir/R4/auth/token"
TOKEN_URL = "http://testserver" + TOKEN_PATH
ASSERTION_TYPE = services.ASSERTION_TYPE

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Key generation is the slow part; each kind is made once per test run.
_made: dict[str, Any] = {}


def rsa_key(bits: int = 2048, *, name: str = "rsa") -> rsa.RSAPrivateKey:
    key = f"{name}:{bits}"
    if key not in _made:
        _made[key] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _made[key]  # type: ignore[no-any-return]


def ec_key(
    curve: ec.EllipticCurve | None = None, *, name: str = "ec"
) -> ec.EllipticCurvePrivateKey:
    curve = curve or ec.SECP384R1()
    key = f"{name}:{curve.name}"
    if key not in _made:
        _made[key] = ec.generate_private_key(curve)
    return _made[key]  # type: ignore[no-any-return]


def public_jwk(private_key: PrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, **extra}


def private_jwk(private_key: PrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(private_key, as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(private_key, as_dict=True)
    return {**jwk, "kid": kid}


def key_set(*jwks: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(jwks)}


def sign(
    private_key: Any,
    *,
    client_id: str,
    kid: str,
    alg: str = "RS384",
    aud: Any = TOKEN_URL,
    lifetime: int = 240,
    jti: str | None = None,
    now: float | None = None,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A client assertion, as the client would sign it."""
    moment = time.time() if now is None else now
    payload: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "exp": int(moment + lifetime),
        "jti": jti or uuid.uuid4().hex,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, private_key, algorithm=alg, headers={"kid": kid, **(headers or {})})


def register(
    organization: Organization,
    actor: User,
    *,
    name: str = "Riverside EHR",
    jwks: dict[str, Any] | None = None,
    scopes: list[str] | None = None,
    may_read_message_text: bool = False,
) -> BackendClient:
    """A client registered through the service, with the RSA test key as `rsa-1` unless
    other keys are given."""
    return services.register_client(
        organization=organization,
        name=name,
        jwks=jwks or key_set(public_jwk(rsa_key(), "rsa-1")),
        chosen_scopes=scopes or [smart_scopes.ALL_READ],
        scope_choices=smart_scopes.allowed_choices(readable_types()),
        may_read_message_text=may_read_message_text,
        actor=actor,
    )


def token_request(assertion: str, scope: str = "system/*.read", **form: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": scope,
        **form,
    }


def get_token(
    http: Client,
    client: BackendClient,
    *,
    scope: str = "system/*.read",
    key: Any = None,
    kid: str = "rsa-1",
    alg: str = "RS384",
) -> str:
    """An access token through the real token endpoint."""
    assertion = sign(key or rsa_key(), client_id=client.client_id, kid=kid, alg=alg)
    response = http.post(TOKEN_PATH, token_request(assertion, scope))
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])
