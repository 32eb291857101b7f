"""Building blocks for the referral tests: Riverside's EHR as a backend client with a token,
the clinic's referral settings, and referral Bundles."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.test import Client

from trellis.accounts.tokens import digest, new_secret
from trellis.care.models import SupportLevel
from trellis.core import timeutil
from trellis.interop.fhir.systems import PROGRAMS, SUPPORT_LEVELS
from trellis.interop.models import AccessToken, BackendClient
from trellis.interop.referrals.services import save_referral_settings
from trellis.journey.tests.factories import PACK_SLUG, publish_test_pack
from trellis.programs.models import Program

MRN = "https://ehr.riverside.example/mrn"
BUNDLE_URL = "/fhir/R4/Bundle"
REFER_SCOPES = "system/ServiceRequest.write system/Patient.read"


def ehr_client(
    cast: Any, *, may_refer: bool = True, scopes: str = REFER_SCOPES, name: str = "Riverside EHR"
) -> BackendClient:
    return BackendClient.objects.create(
        organization=cast.clinics["riverside"],
        name=name,
        client_id=f"ehr-{new_secret()[:12]}",
        scopes=scopes,
        may_refer=may_refer,
        created_by=cast["admin_avery"],
    )


def token_for(client: BackendClient, *, scopes: str | None = None, minutes: int = 5) -> str:
    secret = new_secret()
    AccessToken.objects.create(
        client=client,
        token_hash=digest(secret),
        scopes=client.scopes if scopes is None else scopes,
        expires_at=timeutil.now() + timedelta(minutes=minutes),
    )
    return secret


def referral_settings(cast: Any, *, default_program: bool = True) -> None:
    """Riverside invites referred patients in therapist_maria's name, into the test program."""
    publish_test_pack()
    save_referral_settings(
        organization=cast.clinics["riverside"],
        inviter=cast["therapist_maria"],
        default_program=Program.objects.get(slug=PACK_SLUG) if default_program else None,
        default_support_level=SupportLevel.SELF_GUIDED,
        actor=cast["admin_avery"],
    )


def patient_entry(
    number: str,
    email: str | None,
    *,
    given: str = "Nina",
    family: str = "Novak",
    uuid_tail: str = "",
) -> dict[str, Any]:
    telecom = [{"system": "phone", "value": "+1 555 0100"}]
    if email is not None:
        telecom.append({"system": "email", "value": email})
    return {
        "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{(uuid_tail or number).rjust(12, '0')}",
        "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": MRN, "value": number}],
            "name": [{"use": "official", "given": [given], "family": family}],
            "telecom": telecom,
            "birthDate": "1990-04-12",
            "communication": [{"language": {"coding": [{"code": "en"}]}, "preferred": True}],
        },
        "request": {"method": "POST", "url": "Patient"},
    }


def request_entry(
    subject: str,
    *,
    program: str | None = PACK_SLUG,
    level: str | None = SupportLevel.COACHED,
    uuid_tail: str = "",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": subject},
    }
    if program is not None:
        resource["code"] = {"coding": [{"system": PROGRAMS, "code": program}]}
    if level is not None:
        resource["orderDetail"] = [{"coding": [{"system": SUPPORT_LEVELS, "code": level}]}]
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": "ServiceRequest"},
    }
    if uuid_tail:
        entry["fullUrl"] = f"urn:uuid:10000000-0000-4000-8000-{uuid_tail.rjust(12, '0')}"
    return entry


def referral_bundle(*pairs: tuple[str, str | None], kind: str = "transaction") -> dict[str, Any]:
    """One Patient and one ServiceRequest per (identifier, e-mail)."""
    entries: list[dict[str, Any]] = []
    for number, email in pairs:
        patient = patient_entry(number, email)
        entries.append(patient)
        entries.append(request_entry(patient["fullUrl"], uuid_tail=number))
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def post_bundle(
    body: Any, secret: str | None, *, content_type: str = "application/fhir+json"
) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return Client().post(BUNDLE_URL, data, content_type=content_type, headers=headers)
