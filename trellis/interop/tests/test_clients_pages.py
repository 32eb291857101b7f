"""The clinic admin's connected-systems pages: registering a backend client with its JWK Set
(pasted or uploaded), what the page then shows its vendor, switching it off and on,
replacing its keys; who may use the pages; and the audit row of every change."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from trellis.audit.models import AuditEvent
from trellis.interop.models import BackendClient
from trellis.interop.smart import services
from trellis.interop.tests.smart_keys import (
    TOKEN_URL,
    ec_key,
    get_token,
    key_set,
    private_jwk,
    public_jwk,
    register,
    rsa_key,
)

pytestmark = pytest.mark.django_db

LIST = "/clinic/connections/"
NEW = "/clinic/connections/new/"


def form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Riverside EHR",
        "jwks_text": json.dumps(key_set(public_jwk(rsa_key(), "rsa-1"))),
        "scopes": ["system/*.read", "system/ServiceRequest.write"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_registers_a_client_and_is_shown_what_its_vendor_needs(
    client_for: Any, cast: Any
) -> None:
    admin = client_for("admin_avery")
    assert admin.get(NEW).status_code == 200

    response = admin.post(NEW, form(may_read_message_text="on"))

    created = BackendClient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/clinic/connections/{created.pk}/"
    assert created.organization == cast.clinics["riverside"]
    assert created.scopes == "system/*.read system/ServiceRequest.write"
    assert created.may_refer and created.may_read_message_text
    assert created.created_by == cast["admin_avery"]
    assert created.jwks["keys"][0]["kid"] == "rsa-1"

    page = admin.get(response["Location"]).content.decode()
    assert created.client_id in page
    assert TOKEN_URL in page
    assert "http://testserver/fhir/R4" in page

    event = AuditEvent.objects.get(action=services.CLIENT_REGISTERED)
    assert event.actor_id == cast["admin_avery"].pk
    assert event.details["client_id"] == created.client_id
    assert event.details["keys"] == ["rsa-1"]

    listing = admin.get(LIST).content.decode()
    assert "Riverside EHR" in listing and created.client_id in listing


def test_the_key_set_can_be_uploaded_as_a_file(client_for: Any) -> None:
    upload = SimpleUploadedFile(
        "jwks.json",
        json.dumps(key_set(public_jwk(ec_key(), "ec-1"))).encode(),
        content_type="application/json",
    )
    response = client_for("admin_avery").post(NEW, form(jwks_text="", jwks_file=upload))
    assert response.status_code == 302
    assert BackendClient.objects.get().jwks["keys"][0]["crv"] == "P-384"


def test_only_read_scopes_do_not_let_a_client_refer(client_for: Any) -> None:
    client_for("admin_avery").post(NEW, form(scopes=["system/Patient.read"]))
    assert not BackendClient.objects.get().may_refer


@pytest.mark.parametrize(
    ("jwks_text", "says"),
    [
        ("", "Paste the client"),
        ("{broken", "not valid JSON"),
        (json.dumps(key_set(private_jwk(rsa_key(), "rsa-1"))), "private key"),
        (json.dumps(key_set(public_jwk(rsa_key(1024), "small"))), "at least 2048 bits"),
    ],
)
def test_a_key_set_that_cannot_be_used_is_refused_with_its_reason(
    client_for: Any, jwks_text: str, says: str
) -> None:
    response = client_for("admin_avery").post(NEW, form(jwks_text=jwks_text))
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not BackendClient.objects.exists()
    assert not AuditEvent.objects.filter(action=services.CLIENT_REGISTERED).exists()


def test_a_registration_with_no_scope_or_an_unknown_scope_is_refused(client_for: Any) -> None:
    admin = client_for("admin_avery")
    assert admin.post(NEW, form(scopes=[])).status_code == 400
    assert admin.post(NEW, form(scopes=["system/*.write"])).status_code == 400
    assert not BackendClient.objects.exists()


def test_pasting_and_uploading_at_once_is_refused(client_for: Any) -> None:
    upload = SimpleUploadedFile("jwks.json", b"{}", content_type="application/json")
    response = client_for("admin_avery").post(NEW, form(jwks_file=upload))
    assert response.status_code == 400
    assert "not both" in response.content.decode()


def test_two_clients_of_one_clinic_may_not_share_a_name(client_for: Any, cast: Any) -> None:
    register(cast.clinics["riverside"], cast["admin_avery"])
    response = client_for("admin_avery").post(NEW, form())
    assert response.status_code == 400
    assert "already has a client" in response.content.decode()


@pytest.mark.parametrize("persona", ["therapist_maria", "supervisor_ruth", "patient_alex"])
def test_the_pages_are_for_admins_only(client_for: Any, cast: Any, persona: str) -> None:
    ehr = register(cast.clinics["riverside"], cast["admin_avery"])
    http = client_for(persona)
    assert http.get(LIST).status_code == 403
    assert http.post(NEW, form(name="Sneaky")).status_code == 403
    assert http.get(f"{LIST}{ehr.pk}/").status_code == 403
    assert http.post(f"{LIST}{ehr.pk}/active/", {"active": "0"}).status_code == 403
    ehr.refresh_from_db()
    assert ehr.is_active


def test_another_clinics_client_is_not_found(client_for: Any, cast: Any) -> None:
    hillside = register(cast.clinics["hillside"], cast["admin_avery"], name="Hillside EHR")
    admin = client_for("admin_avery")
    assert admin.get(f"{LIST}{hillside.pk}/").status_code == 404
    assert admin.post(f"{LIST}{hillside.pk}/active/", {"active": "0"}).status_code == 404
    assert "Hillside EHR" not in admin.get(LIST).content.decode()


def test_switching_a_client_off_and_on_is_audited(client_for: Any, cast: Any) -> None:
    ehr = register(cast.clinics["riverside"], cast["admin_avery"])
    admin = client_for("admin_avery")
    get_token(admin, ehr)

    assert admin.post(f"{LIST}{ehr.pk}/active/", {"active": "0"}).status_code == 302
    ehr.refresh_from_db()
    assert not ehr.is_active
    assert not ehr.tokens.exists()
    assert "Switched off" in admin.get(f"{LIST}{ehr.pk}/").content.decode()
    # Switching off what is off writes nothing more.
    admin.post(f"{LIST}{ehr.pk}/active/", {"active": "0"})
    assert AuditEvent.objects.filter(action=services.CLIENT_SWITCHED_OFF).count() == 1

    admin.post(f"{LIST}{ehr.pk}/active/", {"active": "1"})
    ehr.refresh_from_db()
    assert ehr.is_active
    assert AuditEvent.objects.filter(action=services.CLIENT_SWITCHED_ON).count() == 1
    assert admin.post(f"{LIST}{ehr.pk}/active/", {"active": "maybe"}).status_code == 302


def test_replacing_keys_retires_the_old_key_at_once(client_for: Any, cast: Any) -> None:
    ehr = register(cast.clinics["riverside"], cast["admin_avery"])
    admin = client_for("admin_avery")
    new_keys = json.dumps(key_set(public_jwk(ec_key(), "ec-2")))

    response = admin.post(f"{LIST}{ehr.pk}/keys/", {"jwks_text": new_keys})

    assert response.status_code == 302
    ehr.refresh_from_db()
    assert [k["kid"] for k in ehr.jwks["keys"]] == ["ec-2"]
    event = AuditEvent.objects.get(action=services.CLIENT_KEYS_REPLACED)
    assert event.details["keys_before"] == ["rsa-1"] and event.details["keys"] == ["ec-2"]
    get_token(admin, ehr, key=ec_key(), kid="ec-2", alg="ES384")
    with pytest.raises(AssertionError):
        get_token(admin, ehr)  # the old RSA key no longer works


def test_replacement_keys_are_checked_like_new_ones(client_for: Any, cast: Any) -> None:
    ehr = register(cast.clinics["riverside"], cast["admin_avery"])
    bad = json.dumps(key_set(private_jwk(ec_key(), "ec-2")))
    response = client_for("admin_avery").post(f"{LIST}{ehr.pk}/keys/", {"jwks_text": bad})
    assert response.status_code == 400
    assert "private key" in response.content.decode()
    ehr.refresh_from_db()
    assert ehr.jwks["keys"][0]["kid"] == "rsa-1"
    assert not AuditEvent.objects.filter(action=services.CLIENT_KEYS_REPLACED).exists()
