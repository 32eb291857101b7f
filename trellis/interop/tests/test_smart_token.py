"""The token endpoint: a backend client signs an assertion with its own private key (real
RSA and EC keys made here) and gets a five-minute token; every fault in the assertion is
401 invalid_client, every fault in the request 400, as RFC 6749 names them."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client, RequestFactory

from trellis.accounts.tokens import digest
from trellis.audit.models import AuditEvent
from trellis.core import timeutil
from trellis.interop.caller import Unauthorized, authenticate
from trellis.interop.models import AccessToken, BackendClient, UsedAssertion
from trellis.interop.smart import services
from trellis.interop.tasks import remove_spent_credentials
from trellis.interop.tests.smart_keys import (
    TOKEN_PATH,
    TOKEN_URL,
    ec_key,
    key_set,
    public_jwk,
    register,
    rsa_key,
    sign,
    token_request,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ehr(cast: Any) -> BackendClient:
    """Riverside's EHR, with an RSA key (rsa-1) and an EC P-384 key (ec-1)."""
    return register(
        cast.clinics["riverside"],
        cast["admin_avery"],
        jwks=key_set(public_jwk(rsa_key(), "rsa-1"), public_jwk(ec_key(), "ec-1")),
        scopes=["system/*.read"],
    )


def post(assertion: str, scope: str = "system/*.read", **form: str) -> Any:
    return Client().post(TOKEN_PATH, token_request(assertion, scope, **form))


def refused(response: Any, error: str = "invalid_client", status: int = 401) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]
    assert response["Cache-Control"] == "no-store"
    assert not AccessToken.objects.exists()
    return str(body["error_description"])


def test_an_rs384_assertion_gets_a_five_minute_token_stored_only_as_its_hash(
    ehr: BackendClient,
) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")
    response = post(assertion, "system/Patient.read system/Observation.read")

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system/Patient.read system/Observation.read"
    stored = AccessToken.objects.get()
    assert stored.token_hash == digest(body["access_token"])
    assert body["access_token"] not in stored.token_hash
    assert stored.client == ehr
    assert 295 <= (stored.expires_at - stored.created_at).total_seconds() <= 301
    ehr.refresh_from_db()
    assert ehr.last_used_at is not None

    request = RequestFactory().get(
        "/fhir/R4/Patient", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}"
    )
    caller = authenticate(request)
    assert caller.client == ehr
    assert caller.may_read("Patient") and not caller.may_read("Appointment")

    event = AuditEvent.objects.get(action=services.TOKEN_ISSUED)
    assert event.actor_label == f"Riverside EHR ({ehr.client_id})"
    assert event.organization_id == ehr.organization_id
    assert event.details["scopes"] == ["system/Patient.read", "system/Observation.read"]


def test_an_es384_assertion_from_the_ec_key_gets_a_token(ehr: BackendClient) -> None:
    assertion = sign(ec_key(), client_id=ehr.client_id, kid="ec-1", alg="ES384")
    response = post(assertion)
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "system/*.read"


def test_the_discovery_document_says_how_to_connect(cast: Any) -> None:
    body = Client().get("/fhir/R4/.well-known/smart-configuration").json()
    assert body["token_endpoint"] == TOKEN_URL
    assert body["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert body["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert body["grant_types_supported"] == ["client_credentials"]
    assert "system/*.read" in body["scopes_supported"]
    assert "system/Patient.read" in body["scopes_supported"]
    assert body["capabilities"] == ["client-confidential-asymmetric"]


# Each fault of the assertion: 401 invalid_client, no token.


def test_an_expired_assertion_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", now=time.time() - 600)
    assert "expired" in refused(post(assertion))


def test_an_assertion_valid_for_more_than_five_minutes_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", lifetime=3600)
    assert "five minutes" in refused(post(assertion))


def test_an_assertion_signed_by_another_key_is_refused(ehr: BackendClient) -> None:
    impostor = rsa_key(name="impostor")
    assertion = sign(impostor, client_id=ehr.client_id, kid="rsa-1")
    assert "signature" in refused(post(assertion))


def test_an_assertion_naming_an_unknown_kid_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-2")
    assert "rsa-2" in refused(post(assertion))


def test_an_assertion_with_no_kid_is_refused(ehr: BackendClient) -> None:
    payload = {
        "iss": ehr.client_id,
        "sub": ehr.client_id,
        "aud": TOKEN_URL,
        "jti": "x",
        "exp": int(time.time()) + 60,
    }
    assertion = jwt.encode(payload, rsa_key(), algorithm="RS384")
    assert "kid" in refused(post(assertion))


def test_a_replayed_assertion_is_refused_the_second_time(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", jti="once-only")
    assert post(assertion).status_code == 200
    AccessToken.objects.all().delete()
    assert "used before" in refused(post(assertion))
    assert UsedAssertion.objects.filter(jti="once-only").count() == 1


def test_an_assertion_for_another_audience_is_refused(ehr: BackendClient) -> None:
    assertion = sign(
        rsa_key(), client_id=ehr.client_id, kid="rsa-1", aud="https://elsewhere.example/token"
    )
    assert "aud" in refused(post(assertion))


def test_an_hs256_assertion_is_refused_even_keyed_with_the_public_key(ehr: BackendClient) -> None:
    # The classic confusion: an HMAC "signed" with the public key the server holds.
    public_pem = str(ehr.jwks["keys"][0]["n"])
    payload = {
        "iss": ehr.client_id,
        "sub": ehr.client_id,
        "aud": TOKEN_URL,
        "jti": "h",
        "exp": int(time.time()) + 60,
    }
    assertion = jwt.encode(payload, public_pem, algorithm="HS256", headers={"kid": "rsa-1"})
    assert "HS256" in refused(post(assertion))


def test_an_unsigned_assertion_is_refused(ehr: BackendClient) -> None:
    payload = {
        "iss": ehr.client_id,
        "sub": ehr.client_id,
        "aud": TOKEN_URL,
        "jti": "n",
        "exp": int(time.time()) + 60,
    }
    assertion = jwt.encode(payload, None, algorithm="none", headers={"kid": "rsa-1"})
    assert "none" in refused(post(assertion))


def test_an_rs256_assertion_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", alg="RS256")
    assert "RS256" in refused(post(assertion))


def test_an_es384_header_on_the_rsa_key_is_refused(ehr: BackendClient) -> None:
    assertion = sign(ec_key(), client_id=ehr.client_id, kid="rsa-1", alg="ES384")
    assert "does not sign with ES384" in refused(post(assertion))


def test_an_ec_key_on_another_curve_cannot_sign_es384(ehr: BackendClient) -> None:
    other_curve = ec_key(ec.SECP256R1())
    with pytest.raises(jwt.exceptions.InvalidKeyError):
        sign(other_curve, client_id=ehr.client_id, kid="ec-1", alg="ES384")


def test_an_assertion_whose_sub_is_not_the_client_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", sub="someone-else")
    assert "iss and sub" in refused(post(assertion))


def test_an_assertion_without_jti_is_refused(ehr: BackendClient) -> None:
    payload = {
        "iss": ehr.client_id,
        "sub": ehr.client_id,
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 60,
    }
    assertion = jwt.encode(payload, rsa_key(), algorithm="RS384", headers={"kid": "rsa-1"})
    assert "jti" in refused(post(assertion))


def test_an_assertion_issued_in_the_future_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", nbf=int(time.time()) + 120)
    assert "nbf" in refused(post(assertion))


def test_garbage_instead_of_an_assertion_is_refused(ehr: BackendClient) -> None:
    assert "JWT" in refused(post("not.a.jwt"))


def test_an_unknown_client_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id="who-is-this", kid="rsa-1")
    assert "No client" in refused(post(assertion))
    assert not AuditEvent.objects.filter(action=services.TOKEN_REFUSED).exists()


def test_a_switched_off_client_is_refused_and_its_tokens_stop_working(
    ehr: BackendClient, cast: Any
) -> None:
    first = post(sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")).json()["access_token"]
    services.set_client_active(ehr, active=False, actor=cast["admin_avery"])
    request = RequestFactory().get("/fhir/R4/Patient", HTTP_AUTHORIZATION=f"Bearer {first}")
    with pytest.raises(Unauthorized):
        authenticate(request)
    assert "switched off" in refused(post(sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")))


def test_a_client_id_that_disagrees_with_the_assertion_is_refused(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")
    assert "client_id" in refused(post(assertion, client_id="another"))


def test_a_refused_assertion_of_a_known_client_is_in_the_audit_trail(ehr: BackendClient) -> None:
    refused(post(sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", lifetime=-5)))
    event = AuditEvent.objects.get(action=services.TOKEN_REFUSED)
    assert event.actor_label == f"Riverside EHR ({ehr.client_id})"
    assert "expired" in event.details["reason"]


# Faults of the request itself: 400.


def test_a_missing_grant_type_is_invalid_request(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")
    response = Client().post(TOKEN_PATH, {**token_request(assertion), "grant_type": ""})
    refused(response, "invalid_request", 400)


def test_another_grant_type_is_unsupported(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")
    response = Client().post(TOKEN_PATH, {**token_request(assertion), "grant_type": "password"})
    refused(response, "unsupported_grant_type", 400)


def test_another_assertion_type_is_invalid_request(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")
    response = Client().post(
        TOKEN_PATH, {**token_request(assertion), "client_assertion_type": "password"}
    )
    refused(response, "invalid_request", 400)


def test_a_missing_assertion_is_invalid_request(ehr: BackendClient) -> None:
    refused(post(""), "invalid_request", 400)


def test_a_missing_scope_is_invalid_request(ehr: BackendClient) -> None:
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")
    refused(post(assertion, ""), "invalid_request", 400)


def test_scopes_the_client_may_not_have_are_invalid_scope(cast: Any) -> None:
    narrow = register(
        cast.clinics["riverside"], cast["admin_avery"], name="Lab", scopes=["system/Patient.read"]
    )
    assertion = sign(rsa_key(), client_id=narrow.client_id, kid="rsa-1")
    assert "system/Patient.read" in refused(
        post(assertion, "system/Observation.read"), "invalid_scope", 400
    )
    # The assertion was not spent on a refused request.
    assert not UsedAssertion.objects.exists()


def test_asking_for_everything_grants_only_what_the_client_may_have(cast: Any) -> None:
    narrow = register(
        cast.clinics["riverside"],
        cast["admin_avery"],
        name="Lab",
        scopes=["system/Patient.read", "system/Observation.read"],
    )
    response = post(sign(rsa_key(), client_id=narrow.client_id, kid="rsa-1"), "system/*.read")
    assert response.json()["scope"] == "system/Observation.read system/Patient.read"


def test_a_get_on_the_token_endpoint_is_not_allowed(cast: Any) -> None:
    assert Client().get(TOKEN_PATH).status_code == 405


def test_the_hourly_clean_up_forgets_expired_tokens_and_assertions(ehr: BackendClient) -> None:
    assert post(sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1")).status_code == 200
    assert remove_spent_credentials.call() == {"tokens": 0, "assertions": 0}
    later = timeutil.now() + timedelta(minutes=6)
    assert services.remove_spent_credentials(later) == {"tokens": 1, "assertions": 1}
    assert not AccessToken.objects.exists() and not UsedAssertion.objects.exists()
