"""Reading each resource type over /fhir/R4 as a backend client does: every resource valid
R4 (checked with fhir.resources), only the caller's clinic, and every read audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from trellis.audit.models import AuditEvent
from trellis.demo import personas
from trellis.interop.disclosures import FHIR_READ
from trellis.interop.fhir import loinc, systems
from trellis.interop.tests.fhir_factories import (
    ALEX_MRN,
    MRN_SYSTEM,
    Records,
    backend_token,
    build_records,
    validated,
)

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4"


@pytest.fixture
def records(cast: personas.Cast) -> Records:
    return build_records(cast)


@pytest.fixture
def ehr(records: Records) -> Client:
    _client, secret = backend_token(records.riverside)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def get(client: Client, path: str, status: int = 200) -> dict[str, Any]:
    response = client.get(f"{BASE}/{path}")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/fhir+json; fhirVersion=4.0"
    return validated(response.json())


def test_patient_carries_the_ehr_identifier_and_is_audited(ehr: Client, records: Records) -> None:
    patient = get(ehr, f"Patient/{records.alex.pk}")
    assert patient["identifier"] == [{"system": MRN_SYSTEM, "value": ALEX_MRN}]
    assert patient["name"][0]["text"] == records.alex.full_name
    event = AuditEvent.objects.get(action=FHIR_READ)
    assert str(event.patient_id) == str(records.alex.pk)
    assert event.actor_label.startswith("Riverside EHR")
    assert event.details["query"] == f"Patient/{records.alex.pk}"


def test_phq9_total_is_a_screening_assessment_with_its_items(ehr: Client, records: Records) -> None:
    total = get(ehr, f"Observation/{records.phq9.pk}-t")
    assert total["meta"]["profile"] == [systems.SCREENING_ASSESSMENT_PROFILE]
    assert total["code"]["coding"][0] == {
        "system": loinc.SYSTEM,
        "code": "44261-6",
        "display": loinc.display("44261-6"),
    }
    assert total["category"][0]["coding"][0]["code"] == "survey"
    assert total["valueInteger"] == 9
    assert total["status"] == "final"
    assert total["interpretation"][0]["coding"][0]["code"] == "mild"
    assert total["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{records.phq9.pk}"}]
    assert len(total["hasMember"]) == 10
    first = get(ehr, total["hasMember"][0]["reference"])
    assert first["code"]["coding"][0]["code"] == "44250-9"
    assert first["valueCodeableConcept"]["coding"][0]["display"] == "Several days"
    assert first["derivedFrom"] == total["derivedFrom"]


def test_gad7_and_eheals_totals(ehr: Client, records: Records) -> None:
    gad7 = get(ehr, f"Observation/{records.gad7.pk}-t")
    assert gad7["code"]["coding"][0]["code"] == "70274-6"
    assert gad7["valueInteger"] == 14
    eheals = get(ehr, f"Observation/{records.eheals.pk}-t")
    assert eheals["code"]["coding"][0] == {
        "system": systems.INSTRUMENTS,
        "code": "eHEALS",
        "display": "eHEALS total score",
    }
    assert eheals["valueInteger"] == 32
    item = get(ehr, f"Observation/{records.eheals.pk}-i8")
    assert item["code"]["coding"][0]["code"] == "eHEALS/q8"


def test_questionnaire_response_names_its_questionnaire(ehr: Client, records: Records) -> None:
    response = get(ehr, f"QuestionnaireResponse/{records.gad7.pk}")
    assert response["questionnaire"] == systems.questionnaire_url("GAD-7")
    assert response["status"] == "completed"
    assert len(response["item"]) == 7
    assert response["item"][0]["answer"][0]["valueCoding"]["code"] == "2"
    questionnaire = get(ehr, "Questionnaire/GAD-7")
    assert questionnaire["url"] == response["questionnaire"]
    assert [i["linkId"] for i in questionnaire["item"]] == [f"q{n}" for n in range(1, 8)]
    assert questionnaire["code"][0]["code"] == "69737-5"


def test_care_plan_team_practitioner_group(ehr: Client, records: Records, cast: Any) -> None:
    plan = get(ehr, f"CarePlan/{records.enrollment.pk}")
    assert plan["status"] == "active"
    assert plan["intent"] == "plan"
    levels = [c for c in plan["category"] if c["coding"][0]["system"] == systems.SUPPORT_LEVELS]
    assert levels[0]["coding"][0]["code"] == "therapist_assisted"
    team = get(ehr, f"CareTeam/{records.enrollment.pk}")
    maria = cast["therapist_maria"]
    assert team["participant"][0]["member"]["reference"] == f"Practitioner/{maria.pk}"
    practitioner = get(ehr, f"Practitioner/{maria.pk}")
    assert practitioner["name"][0]["text"] == maria.full_name
    group = get(ehr, f"Group/{records.enrollment.program_version.program_id}")
    assert group["quantity"] == 1
    assert group["member"][0]["entity"]["reference"] == f"Patient/{records.alex.pk}"


def test_appointment_is_the_booked_session(ehr: Client, records: Records) -> None:
    session = get(ehr, f"Appointment/{records.session.pk}")
    assert session["status"] == "booked"
    assert session["start"] == "2026-06-03T13:00:00Z"
    actors = [p["actor"]["reference"] for p in session["participant"]]
    assert actors == [f"Patient/{records.alex.pk}", f"Practitioner/{records.session.supporter_id}"]


def test_communication_text_only_for_a_client_allowed_to_read_it(
    ehr: Client, records: Records
) -> None:
    message = get(ehr, f"Communication/{records.from_alex.pk}")
    assert "payload" not in message
    assert message["sender"] == {"reference": f"Patient/{records.alex.pk}"}
    assert message["recipient"] == [{"reference": f"CareTeam/{records.enrollment.pk}"}]
    assert message["status"] == "completed"
    _client, secret = backend_token(
        records.riverside, name="Riverside chart", may_read_message_text=True
    )
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    message = get(reader, f"Communication/{records.from_maria.pk}")
    assert message["payload"] == [{"contentString": "Good to hear, Alex. Keep it up this week."}]


@pytest.mark.parametrize(
    "path",
    [
        "Patient/{farah}",
        "QuestionnaireResponse/{farah_phq9}",
        "Observation/{farah_phq9}-t",
        "CarePlan/{farah_enrollment}",
        "Patient/00000000-0000-0000-0000-000000000000",
        "Patient/not-a-uuid",
        "Observation/{phq9}-i99",
        "Questionnaire/WSAS",
    ],
)
def test_another_clinics_or_no_such_resource_is_404(
    ehr: Client, records: Records, path: str
) -> None:
    path = path.format(
        farah=records.farah.pk,
        farah_phq9=records.farah_phq9.pk,
        farah_enrollment=records.farah_enrollment.pk,
        phq9=records.phq9.pk,
    )
    outcome = get(ehr, path, status=404)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "not-found"
    assert not AuditEvent.objects.filter(action=FHIR_READ).exists()
