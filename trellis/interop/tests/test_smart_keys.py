"""The JWK Set a clinic registers, and the scopes a token is granted: pure rules, no
database. Keys are real ones made with `cryptography`."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from trellis.interop.smart import keys, scopes
from trellis.interop.tests.smart_keys import ec_key, key_set, private_jwk, public_jwk, rsa_key


def test_rsa_and_p384_public_keys_are_accepted_and_kept_to_their_public_members() -> None:
    text = json.dumps(
        key_set(
            public_jwk(rsa_key(), "rsa-1", alg="RS384", use="sig", x5t="ignored"),
            public_jwk(ec_key(), "ec-1", key_ops=["verify"]),
        )
    )
    checked = keys.parse_jwks(text)
    assert [k["kid"] for k in checked["keys"]] == ["rsa-1", "ec-1"]
    assert set(checked["keys"][0]) == {"kty", "kid", "alg", "use", "key_ops", "n", "e"}
    assert set(checked["keys"][1]) == {"kty", "kid", "key_ops", "crv", "x", "y"}
    assert keys.describe(checked) == ["rsa-1 (RSA)", "ec-1 (EC P-384)"]


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("", "Paste"),
        ("{not json", "not valid JSON"),
        ("[]", '"keys" list'),
        ('{"keys": []}', "no keys"),
        ('{"keys": ["rsa"]}', "not a JSON object"),
    ],
)
def test_a_key_set_that_is_not_a_jwk_set_is_refused(document: str, says: str) -> None:
    with pytest.raises(keys.KeyProblem, match=says):
        keys.parse_jwks(document)


def test_a_private_key_is_refused_so_trellis_never_holds_one() -> None:
    with pytest.raises(keys.KeyProblem, match="private key"):
        keys.check_jwks(key_set(private_jwk(rsa_key(), "rsa-1")))
    with pytest.raises(keys.KeyProblem, match="private key"):
        keys.check_jwks(key_set(private_jwk(ec_key(), "ec-1")))


def test_an_rsa_key_under_2048_bits_is_refused() -> None:
    with pytest.raises(keys.KeyProblem, match="1024-bit"):
        keys.check_jwks(key_set(public_jwk(rsa_key(1024), "small")))


def test_an_ec_key_on_p256_is_refused() -> None:
    with pytest.raises(keys.KeyProblem, match="P-256"):
        keys.check_jwks(key_set(public_jwk(ec_key(ec.SECP256R1()), "p256")))


def test_every_key_needs_its_own_kid() -> None:
    no_kid = public_jwk(rsa_key(), "x")
    del no_kid["kid"]
    with pytest.raises(keys.KeyProblem, match="kid"):
        keys.check_jwks(key_set(no_kid))
    with pytest.raises(keys.KeyProblem, match="share the kid"):
        keys.check_jwks(key_set(public_jwk(rsa_key(), "same"), public_jwk(ec_key(), "same")))


def test_a_shared_secret_key_is_refused() -> None:
    with pytest.raises(keys.KeyProblem, match="private key"):
        keys.check_jwks(key_set({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}))


def test_an_rsa_key_that_says_it_signs_rs256_is_refused() -> None:
    with pytest.raises(keys.KeyProblem, match="RS384"):
        keys.check_jwks(key_set(public_jwk(rsa_key(), "rsa-1", alg="RS256")))


def test_an_encryption_key_is_refused() -> None:
    with pytest.raises(keys.KeyProblem, match="signing"):
        keys.check_jwks(key_set(public_jwk(rsa_key(), "rsa-1", use="enc")))


def test_a_key_whose_numbers_are_not_a_key_is_refused() -> None:
    broken = public_jwk(ec_key(), "ec-1")
    broken["x"] = broken["y"]  # not a point on the curve
    with pytest.raises(keys.KeyProblem, match="cannot be read"):
        keys.check_jwks(key_set(broken))


def test_a_huge_upload_is_refused_before_it_is_read() -> None:
    with pytest.raises(keys.KeyProblem, match="too large"):
        keys.parse_jwks(b" " * (keys.MAX_JWKS_BYTES + 1))


def test_granted_scopes_are_those_asked_for_that_are_allowed() -> None:
    allowed = ["system/*.read", scopes.REFER]
    assert scopes.grant(["system/Patient.read", scopes.REFER], allowed) == [
        "system/Patient.read",
        scopes.REFER,
    ]
    assert scopes.grant(["system/Patient.rs"], allowed) == ["system/Patient.rs"]
    assert scopes.grant(["patient/*.read", "openid"], allowed) == []
    assert scopes.grant(["system/Patient.write"], allowed) == []


def test_asking_for_everything_narrows_to_the_types_allowed() -> None:
    allowed = ["system/Patient.read", "system/Observation.read"]
    assert scopes.grant(["system/*.read"], allowed) == [
        "system/Observation.read",
        "system/Patient.read",
    ]
    assert scopes.grant(["system/Appointment.read"], allowed) == []
    assert scopes.grant(["system/*.read", "system/*.read"], ["system/*.read"]) == ["system/*.read"]
