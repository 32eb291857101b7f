"""Referrals sent by the EHR as a FHIR Bundle: who may send them, every refusal, the
invitations they become, matching by identifier, and the answers, each validated as R4."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from trellis.accounts.models import Invitation, User
from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment, PatientInvitation, SupportLevel
from trellis.core import timeutil
from trellis.interop.models import PatientIdentifier, Referral, ReferralOutcome, ReferralSource
from trellis.interop.referrals.responses import REFERRAL_OUTCOMES
from trellis.interop.referrals.services import link_accepted_identifiers
from trellis.interop.tests.referral_factories import (
    BUNDLE_URL,
    MRN,
    ehr_client,
    patient_entry,
    post_bundle,
    referral_bundle,
    referral_settings,
    request_entry,
    token_for,
)
from trellis.journey.tests.factories import PACK_SLUG, enroll_alex
from trellis.onboarding.services import accept_invitation
from trellis.onboarding.tests.onboarding_factories import NEW_EMAIL, NEW_PASSWORD, invite

pytestmark = pytest.mark.django_db

NINA = "nina.novak@patients.example"


@pytest.fixture
def secret(cast: Any) -> str:
    referral_settings(cast)
    return token_for(ehr_client(cast))


def _outcome_of(body: dict[str, Any]) -> OperationOutcome:
    assert body["resourceType"] == "OperationOutcome", body
    return OperationOutcome.model_validate(body)


def _entry_outcomes(body: dict[str, Any]) -> list[tuple[str, str]]:
    Bundle.model_validate(body)
    return [
        (
            e["response"]["status"],
            e["response"]["outcome"]["issue"][0]["details"]["coding"][0]["code"],
        )
        for e in body["entry"]
    ]


def _nothing_written() -> None:
    assert Referral.objects.count() == 0
    assert PatientIdentifier.objects.count() == 0
    assert not Invitation.objects.filter(role="patient").exists()


# --- who may send -------------------------------------------------------------------


def test_no_token_is_401_with_a_bearer_challenge(cast: Any) -> None:
    response = post_bundle(referral_bundle(("100", NINA)), None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response["Content-Type"].startswith("application/fhir+json")
    _outcome_of(response.json())


def test_an_unknown_or_expired_token_is_401(cast: Any) -> None:
    client = ehr_client(cast)
    assert post_bundle(referral_bundle(("100", NINA)), "not-a-token").status_code == 401
    expired = token_for(client, minutes=-1)
    response = post_bundle(referral_bundle(("100", NINA)), expired)
    assert response.status_code == 401
    assert "expired" in response.json()["issue"][0]["diagnostics"]


def test_a_client_not_allowed_to_refer_is_403(cast: Any) -> None:
    referral_settings(cast)
    secret = token_for(ehr_client(cast, may_refer=False))
    response = post_bundle(referral_bundle(("100", NINA)), secret)
    assert response.status_code == 403
    _outcome_of(response.json())
    _nothing_written()


def test_a_token_without_the_write_scope_is_403(cast: Any) -> None:
    referral_settings(cast)
    secret = token_for(ehr_client(cast), scopes="system/*.read")
    assert post_bundle(referral_bundle(("100", NINA)), secret).status_code == 403
    _nothing_written()


def test_smart_v2_create_scope_is_enough(cast: Any) -> None:
    referral_settings(cast)
    secret = token_for(ehr_client(cast), scopes="system/ServiceRequest.c")
    assert post_bundle(referral_bundle(("100", NINA)), secret).status_code == 200


def test_get_is_405_and_says_post(secret: str) -> None:
    response = Client().get(BUNDLE_URL, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"


# --- malformed bodies: 400, 415, 413 ------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        json.dumps([1, 2]),
        json.dumps({"resourceType": "Patient"}),
        json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}),
        json.dumps({"resourceType": "Bundle", "type": "batch", "entry": {}}),
    ],
    ids=["not-json", "not-utf8", "a-list", "a-patient", "searchset", "entry-not-a-list"],
)
def test_a_body_that_is_not_a_referral_bundle_is_400(secret: str, body: Any) -> None:
    response = post_bundle(body, secret)
    assert response.status_code == 400
    _outcome_of(response.json())
    _nothing_written()


def test_another_content_type_is_415(secret: str) -> None:
    response = post_bundle(referral_bundle(("100", NINA)), secret, content_type="text/plain")
    assert response.status_code == 415
    _nothing_written()


def test_plain_application_json_is_accepted(secret: str) -> None:
    response = post_bundle(referral_bundle(("100", NINA)), secret, content_type="application/json")
    assert response.status_code == 200


def test_a_body_over_the_upload_limit_is_413(secret: str, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    response = post_bundle(referral_bundle(("100", NINA), ("101", "b@patients.example")), secret)
    assert response.status_code == 413
    _nothing_written()


# --- entries at fault: 422 naming them, nothing written ----------------------------------


def test_a_patient_without_an_identifier_is_422_naming_the_entry(secret: str) -> None:
    bundle = referral_bundle(("100", NINA), ("101", "blair.b@patients.example"))
    bundle["entry"][2]["resource"]["identifier"] = [{"system": MRN}]
    response = post_bundle(bundle, secret)

    assert response.status_code == 422
    outcome = _outcome_of(response.json())
    assert len(outcome.issue) == 1
    found = outcome.issue[0]
    assert found.expression == ["Bundle.entry[2].resource.identifier"]
    assert "entry 2 (urn:uuid:00000000-0000-4000-8000-000000000101)" in found.diagnostics
    _nothing_written()


def test_a_patient_without_an_email_is_422_and_valid_entries_are_not_taken(secret: str) -> None:
    response = post_bundle(referral_bundle(("100", NINA), ("101", None)), secret)
    assert response.status_code == 422
    issues = response.json()["issue"]
    assert [i["expression"] for i in issues] == [["Bundle.entry[2].resource.telecom"]]
    assert "e-mail" in issues[0]["diagnostics"]
    _nothing_written()


def test_every_problem_is_reported_at_once(secret: str) -> None:
    bundle = referral_bundle(("100", "not-an-address"), ("101", NINA))
    bundle["entry"][2]["resource"]["identifier"] = []
    bundle["entry"][3]["resource"]["status"] = "draft"
    response = post_bundle(bundle, secret)
    assert response.status_code == 422
    expressions = [i["expression"][0] for i in response.json()["issue"]]
    assert expressions == [
        "Bundle.entry[0].resource.telecom",
        "Bundle.entry[2].resource.identifier",
        "Bundle.entry[3].resource.status",
    ]


def test_a_service_request_pointing_at_no_patient_is_422_naming_it(secret: str) -> None:
    bundle = referral_bundle(("100", NINA))
    bundle["entry"].append(request_entry("urn:uuid:nobody", uuid_tail="9"))
    response = post_bundle(bundle, secret)
    assert response.status_code == 422
    found = _outcome_of(response.json()).issue[0]
    assert found.expression == ["Bundle.entry[2].resource.subject"]
    assert found.code == "not-found"
    assert "urn:uuid:10000000-0000-4000-8000-000000000009" in found.diagnostics
    _nothing_written()


def test_a_service_request_may_point_at_patient_by_id(secret: str) -> None:
    patient = patient_entry("100", NINA)
    patient["resource"]["id"] = "p100"
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [patient, request_entry("Patient/p100")],
    }
    response = post_bundle(bundle, secret)
    assert response.status_code == 200, response.content
    assert response.json()["type"] == "batch-response"


def test_a_bundle_without_service_requests_is_422(secret: str) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [patient_entry("1", NINA)]}
    assert post_bundle(bundle, secret).status_code == 422


def test_another_resource_type_is_422_not_ignored(secret: str) -> None:
    bundle = referral_bundle(("100", NINA))
    bundle["entry"].append({"resource": {"resourceType": "Observation", "status": "final"}})
    response = post_bundle(bundle, secret)
    assert response.status_code == 422
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_an_unknown_level_or_program_is_422_naming_the_entry(secret: str) -> None:
    bundle = referral_bundle(("100", NINA))
    bundle["entry"][1]["resource"]["orderDetail"][0]["coding"][0]["code"] = "intensive"
    response = post_bundle(bundle, secret)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.orderDetail"]

    bundle = referral_bundle(("100", NINA))
    bundle["entry"][1]["resource"]["code"]["coding"][0]["code"] = "no-such-program"
    response = post_bundle(bundle, secret)
    assert response.status_code == 422
    found = _outcome_of(response.json()).issue[0]
    assert found.expression == ["Bundle.entry[1].resource.code"]
    assert "no-such-program" in found.diagnostics
    _nothing_written()


def test_a_clinic_without_an_inviting_clinician_refuses_with_422(cast: Any) -> None:
    secret = token_for(ehr_client(cast))
    response = post_bundle(referral_bundle(("100", NINA)), secret)
    assert response.status_code == 422
    assert response.json()["issue"][0]["code"] == "business-rule"
    _nothing_written()


# --- invitations -----------------------------------------------------------------------


def test_a_referral_becomes_an_invitation_emailed_to_the_patient(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    referral_settings(cast)
    ehr = ehr_client(cast)
    secret = token_for(ehr)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_bundle(referral_bundle(("100", NINA)), secret)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "transaction-response"
    assert _entry_outcomes(body) == [("201 Created", ReferralOutcome.INVITED)]
    assert body["entry"][0]["fullUrl"] == "urn:uuid:10000000-0000-4000-8000-000000000100"
    coding = body["entry"][0]["response"]["outcome"]["issue"][0]["details"]["coding"][0]
    assert coding["system"] == REFERRAL_OUTCOMES

    invitation = Invitation.objects.get(email=NINA)
    assert invitation.invited_by == cast["therapist_maria"]
    assert invitation.full_name == "Nina Novak"
    plan = PatientInvitation.objects.get(invitation=invitation)
    assert plan.program_version.program.slug == PACK_SLUG
    assert plan.support_level == SupportLevel.COACHED
    assert plan.supporters == [str(cast["therapist_maria"].pk)]
    referral = Referral.objects.get()
    assert referral.source == ReferralSource.FHIR
    assert referral.client == ehr
    assert referral.invitation == invitation
    assert referral.identifier.system == MRN and referral.identifier.value == "100"
    assert referral.identifier.patient is None
    assert "phone: +1 555 0100" in referral.note

    mails = smtp.to(NINA)
    assert len(mails) == 1
    assert "Maria Lindqvist has invited you to join Riverside Community Clinic" in mails[0].body

    event = AuditEvent.objects.get(action="referral.receive")
    assert event.actor_label == f"Riverside EHR ({ehr.client_id})"
    assert event.details["client"] == "Riverside EHR"
    assert event.details["outcome"] == ReferralOutcome.INVITED
    assert "100" not in json.dumps(event.details["identifier"])


def test_the_clinic_default_program_and_level_are_used_when_the_request_names_none(
    secret: str,
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            patient_entry("100", NINA),
            request_entry(patient_entry("100", NINA)["fullUrl"], program=None, level=None),
        ],
    }
    assert post_bundle(bundle, secret).status_code == 200
    plan = PatientInvitation.objects.get()
    assert plan.program_version.program.slug == PACK_SLUG
    assert plan.support_level == SupportLevel.SELF_GUIDED
    assert plan.supporters == []  # self-guided: the inviter is not a supporter


def test_a_second_identical_referral_is_already_invited_and_sends_nothing(
    secret: str, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = post_bundle(referral_bundle(("100", NINA)), secret)
        second = post_bundle(referral_bundle(("100", NINA)), secret)

    assert _entry_outcomes(first.json()) == [("201 Created", ReferralOutcome.INVITED)]
    assert _entry_outcomes(second.json()) == [("200 OK", ReferralOutcome.ALREADY_INVITED)]
    assert Invitation.objects.filter(email=NINA).count() == 1
    assert PatientIdentifier.objects.count() == 1
    assert list(Referral.objects.values_list("outcome", flat=True).order_by("created_at")) == [
        ReferralOutcome.INVITED,
        ReferralOutcome.ALREADY_INVITED,
    ]
    assert len(smtp.to(NINA)) == 1


def test_the_same_identifier_with_another_email_is_already_invited(secret: str) -> None:
    post_bundle(referral_bundle(("100", NINA)), secret)
    response = post_bundle(referral_bundle(("100", "nina.other@patients.example")), secret)
    assert _entry_outcomes(response.json()) == [("200 OK", ReferralOutcome.ALREADY_INVITED)]
    assert not Invitation.objects.filter(email="nina.other@patients.example").exists()


def test_two_requests_for_one_patient_in_a_bundle_invite_once(secret: str) -> None:
    bundle = referral_bundle(("100", NINA))
    bundle["entry"].append(request_entry(bundle["entry"][0]["fullUrl"], uuid_tail="7"))
    response = post_bundle(bundle, secret)
    assert _entry_outcomes(response.json()) == [
        ("201 Created", ReferralOutcome.INVITED),
        ("200 OK", ReferralOutcome.ALREADY_INVITED),
    ]


def test_an_open_invitation_made_by_a_clinician_counts_as_already_invited(
    cast: Any, secret: str
) -> None:
    invite(cast)
    response = post_bundle(referral_bundle(("100", NEW_EMAIL)), secret)
    assert _entry_outcomes(response.json()) == [("200 OK", ReferralOutcome.ALREADY_INVITED)]
    assert Referral.objects.get().invitation == Invitation.objects.get(email=NEW_EMAIL)


def test_a_patient_already_enrolled_is_reported_not_invited_again(cast: Any, secret: str) -> None:
    alex = cast["patient_alex"]
    enroll_alex(cast)
    response = post_bundle(referral_bundle(("200", alex.email)), secret)
    assert _entry_outcomes(response.json()) == [("200 OK", ReferralOutcome.ALREADY_ENROLLED)]
    assert not Invitation.objects.filter(email=alex.email, role="patient").exists()
    # Matched by e-mail, the identifier now names Alex, and the next referral matches by it.
    assert PatientIdentifier.objects.get(value="200").patient == alex
    again = post_bundle(referral_bundle(("200", "alex.elsewhere@patients.example")), secret)
    assert _entry_outcomes(again.json()) == [("200 OK", ReferralOutcome.ALREADY_ENROLLED)]
    assert Enrollment.objects.filter(patient=alex).count() == 1


def test_a_staff_email_is_refused_and_reported(cast: Any, secret: str) -> None:
    response = post_bundle(referral_bundle(("300", cast["coach_jordan"].email)), secret)
    assert _entry_outcomes(response.json()) == [("409 Conflict", ReferralOutcome.REFUSED)]
    assert Referral.objects.get().outcome == ReferralOutcome.REFUSED


def test_accepting_the_invitation_links_the_identifier_to_the_account(
    cast: Any, secret: str, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_bundle(referral_bundle(("100", NINA)), secret)
    link = next(w for w in smtp.to(NINA)[0].body.split() if "/invitations/" in w)
    path = link[link.index("/invitations/") :]
    accepted = Client().post(
        path,
        {"full_name": "Nina Novak", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert accepted.status_code == 302, accepted.content
    nina = User.objects.get(email=NINA)
    assert Enrollment.objects.filter(patient=nina).exists()

    # The next referral links the identifier (and finds her enrolled).
    response = post_bundle(referral_bundle(("100", NINA)), secret)
    assert _entry_outcomes(response.json()) == [("200 OK", ReferralOutcome.ALREADY_ENROLLED)]
    assert PatientIdentifier.objects.get(value="100").patient == nina
    linked = AuditEvent.objects.get(action="identifier.link")
    assert str(linked.patient_id) == str(nina.pk)


def test_link_accepted_identifiers_links_without_a_new_referral(cast: Any, secret: str) -> None:
    post_bundle(referral_bundle(("100", NINA)), secret)
    accept_invitation(
        invitation=Invitation.objects.get(email=NINA), now=timeutil.now(), password=NEW_PASSWORD
    )
    assert PatientIdentifier.objects.get().patient is None
    assert link_accepted_identifiers(cast.clinics["riverside"]) == 1
    assert PatientIdentifier.objects.get().patient == User.objects.get(email=NINA)
    assert link_accepted_identifiers() == 0


def test_identifiers_are_per_clinic(cast: Any, secret: str) -> None:
    PatientIdentifier.objects.create(
        organization=cast.clinics["hillside"],
        system=MRN,
        value="100",
        patient=cast["patient_farah"],
    )
    response = post_bundle(referral_bundle(("100", NINA)), secret)
    assert _entry_outcomes(response.json()) == [("201 Created", ReferralOutcome.INVITED)]
