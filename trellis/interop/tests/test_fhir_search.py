"""Searching over /fhir/R4: every parameter the CapabilityStatement lists, paging with next
links that work, searchset Bundles that are valid R4, and a disclosure per patient shown."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from trellis.audit.models import AuditEvent
from trellis.demo import personas
from trellis.interop.disclosures import FHIR_READ
from trellis.interop.fhir import systems
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


def search(client: Client, query: str) -> dict[str, Any]:
    response = client.get(f"{BASE}/{query}")
    assert response.status_code == 200, response.content
    bundle = validated(response.json())
    assert bundle["type"] == "searchset"
    for entry in bundle.get("entry", []):
        validated(entry["resource"])
        assert entry["search"] == {"mode": "match"}
        resource = entry["resource"]
        assert entry["fullUrl"] == (
            f"http://testserver{BASE}/{resource['resourceType']}/{resource['id']}"
        )
    return bundle


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


@pytest.mark.parametrize(
    "resource_type",
    [
        "Patient",
        "Practitioner",
        "CareTeam",
        "Group",
        "Questionnaire",
        "QuestionnaireResponse",
        "Observation",
        "Appointment",
        "CarePlan",
        "Communication",
    ],
)
def test_every_type_searches_to_a_valid_bundle_of_the_clinic(
    ehr: Client, records: Records, resource_type: str
) -> None:
    bundle = search(ehr, resource_type)
    assert bundle["total"] == len(ids(bundle)) > 0
    assert str(records.farah.pk) not in str(bundle)


def test_patient_by_identifier_system_and_value(ehr: Client, records: Records) -> None:
    alex = [str(records.alex.pk)]
    assert ids(search(ehr, f"Patient?identifier={quote(MRN_SYSTEM)}|{ALEX_MRN}")) == alex
    assert ids(search(ehr, f"Patient?identifier={ALEX_MRN}")) == alex
    assert ids(search(ehr, f"Patient?identifier=urn:other|{ALEX_MRN}")) == []
    assert ids(search(ehr, f"Patient?_id={records.alex.pk}")) == alex
    assert ids(search(ehr, f"Patient?_id={records.farah.pk}")) == []


def test_observation_by_code_with_and_without_system(ehr: Client, records: Records) -> None:
    total = f"{records.phq9.pk}-t"
    assert ids(search(ehr, "Observation?code=http://loinc.org|44261-6")) == [total]
    assert ids(search(ehr, "Observation?code=44261-6")) == [total]
    assert ids(search(ehr, "Observation?code=http://snomed.info/sct|44261-6")) == []
    both = search(ehr, "Observation?code=44261-6,70274-6")
    assert set(ids(both)) == {total, f"{records.gad7.pk}-t"}
    eheals = search(ehr, f"Observation?code={quote(systems.INSTRUMENTS)}|eHEALS")
    assert ids(eheals) == [f"{records.eheals.pk}-t"]
    item9 = search(ehr, f"Observation?code=44260-8&patient=Patient/{records.alex.pk}")
    assert ids(item9) == [f"{records.phq9.pk}-i9"]


def test_observation_by_patient_subject_category_status(ehr: Client, records: Records) -> None:
    everything = search(ehr, "Observation")["total"]
    assert everything == 2 + 10 + 7 + 1 + 8
    assert search(ehr, f"Observation?patient={records.alex.pk}")["total"] == everything
    assert search(ehr, f"Observation?subject=Patient/{records.alex.pk}")["total"] == everything
    assert search(ehr, f"Observation?patient={records.farah.pk}")["total"] == 0
    category = quote(f"{systems.OBSERVATION_CATEGORY}|survey")
    assert search(ehr, f"Observation?category={category}")["total"] == everything
    assert search(ehr, "Observation?category=laboratory")["total"] == 0
    assert search(ehr, "Observation?status=final")["total"] == everything
    assert search(ehr, "Observation?status=preliminary")["total"] == 0
    assert ids(search(ehr, f"Observation?_id={records.gad7.pk}-t")) == [f"{records.gad7.pk}-t"]


# The responses were answered 2026-05-29T09:00Z (05:00 in New York, the clinic's zone).
@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("2026", True),
        ("2026-05", True),
        ("2026-05-29", True),
        ("2026-05-28", False),
        ("2026-05-29T09:00:00Z", True),
        ("2026-05-29T05:00:00-04:00", True),
        ("2026-05-29T09:00:01Z", False),
        ("eq2026-05-29", True),
        ("ne2026-05-29", False),
        ("ne2026-05-30", True),
        ("lt2026-05-29", False),
        ("lt2026-05-30", True),
        ("le2026-05-29", True),
        ("le2026-05-28", False),
        ("gt2026-05-29", False),
        ("gt2026-05-28", True),
        ("ge2026-05-29", True),
        ("ge2026-05-30", False),
        ("sa2026-05-28", True),
        ("sa2026-05-29", False),
        ("eb2026-05-30", True),
        ("eb2026-05-29", False),
        ("ge2026-05-29T08:59:59Z", True),
        ("gt2026-05-29T09:00:00Z", False),
    ],
)
def test_date_prefixes_and_precisions(
    ehr: Client, records: Records, value: str, found: bool
) -> None:
    query = quote(value)
    expected = 1 if found else 0
    assert search(ehr, f"Observation?code=44261-6&date={query}")["total"] == expected
    assert (
        search(ehr, f"QuestionnaireResponse?_id={records.phq9.pk}&authored={query}")["total"]
        == expected
    )


def test_day_means_the_clinics_day(ehr: Client, records: Records) -> None:
    # 09:00 UTC on the 29th is still the 29th in New York, but 2026-05-29T02:00Z is not.
    assert search(ehr, "Observation?code=44261-6&date=2026-05-29")["total"] == 1


def test_last_updated_prefixes(ehr: Client, records: Records) -> None:
    assert search(ehr, "Patient?_lastUpdated=ge2000-01-01")["total"] == 1
    assert search(ehr, "Patient?_lastUpdated=lt2000")["total"] == 0
    assert search(ehr, "Observation?_lastUpdated=gt2099")["total"] == 0
    assert search(ehr, "CarePlan?_lastUpdated=le2099-12-31T23:59:59Z")["total"] == 1


def test_status_and_date_of_care_plans_teams_sessions_messages(
    ehr: Client, records: Records
) -> None:
    plan = [str(records.enrollment.pk)]
    assert ids(search(ehr, "CarePlan?status=active")) == plan
    assert ids(search(ehr, "CarePlan?status=completed")) == []
    assert ids(search(ehr, f"CarePlan?subject={records.alex.pk}&date=ge2026-05")) == plan
    # An ongoing plan is not within May: eq needs the whole period inside the value's.
    assert ids(search(ehr, "CarePlan?date=2026-05")) == []
    assert ids(search(ehr, "CarePlan?date=sa2026-05")) == []
    assert ids(search(ehr, "CarePlan?date=eb2026-06")) == []
    assert ids(search(ehr, "CarePlan?date=lt2026-05-01")) == []
    assert ids(search(ehr, "CarePlan?category=therapist_assisted")) == plan
    slug = records.enrollment.program_version.program.slug
    assert ids(search(ehr, f"CarePlan?category={quote(systems.PROGRAMS)}|{slug}")) == plan
    assert ids(search(ehr, "CarePlan?category=self_guided")) == []
    assert ids(search(ehr, "CareTeam?status=active&patient=" + str(records.alex.pk))) == plan
    assert ids(search(ehr, "CareTeam?status=inactive")) == []
    assert ids(search(ehr, "CareTeam?date=ge2026-05-29")) == plan
    session = [str(records.session.pk)]
    assert ids(search(ehr, "Appointment?status=booked&date=2026-06-03")) == session
    assert ids(search(ehr, "Appointment?status=fulfilled")) == []
    assert ids(search(ehr, "Appointment?date=gt2026-06-04")) == []
    maria = records.session.supporter_id
    assert ids(search(ehr, f"Appointment?practitioner=Practitioner/{maria}")) == session
    assert ids(search(ehr, f"Appointment?patient={records.alex.pk}")) == session
    sent = search(ehr, "Communication?status=completed&sent=ge2026-06-01T10:00:00Z")
    assert ids(sent) == [str(records.from_maria.pk)]
    assert search(ehr, f"Communication?subject={records.alex.pk}")["total"] == 2


def test_questionnaires_by_url_and_responses_by_questionnaire(
    ehr: Client, records: Records
) -> None:
    url = systems.questionnaire_url("PHQ-9")
    assert ids(search(ehr, f"Questionnaire?url={quote(url)}")) == ["PHQ-9"]
    assert search(ehr, "Questionnaire?status=active")["total"] == 5
    assert ids(search(ehr, f"QuestionnaireResponse?questionnaire={quote(url)}")) == [
        str(records.phq9.pk)
    ]
    by_id = search(ehr, "QuestionnaireResponse?questionnaire=Questionnaire/GAD-7&status=completed")
    assert ids(by_id) == [str(records.gad7.pk)]


def test_paging_follows_next_links_to_every_result(ehr: Client, records: Records) -> None:
    seen: list[str] = []
    bundle = search(ehr, "Observation?_count=4")
    pages = 1
    while True:
        assert len(ids(bundle)) <= 4
        seen += ids(bundle)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert links["self"].startswith("http://testserver/fhir/R4/Observation?_count=4")
        if "next" not in links:
            break
        bundle = search(ehr, links["next"].removeprefix(f"http://testserver{BASE}/"))
        pages += 1
    assert pages == 7
    assert len(seen) == len(set(seen)) == bundle["total"] == 28


def test_count_is_capped_and_zero_gives_only_the_total(ehr: Client, records: Records) -> None:
    bundle = search(ehr, "Observation?_count=5000")
    assert len(ids(bundle)) == 28
    only_total = search(ehr, "Observation?_count=0")
    assert only_total["total"] == 28
    assert "entry" not in only_total


def test_search_discloses_each_patient_shown_once(ehr: Client, records: Records) -> None:
    search(ehr, "Observation?code=44261-6,70274-6")
    events = AuditEvent.objects.filter(action=FHIR_READ)
    assert [str(e.patient_id) for e in events] == [str(records.alex.pk)]
    assert events[0].details["type"] == "Observation"
    assert events[0].details["query"] == "code=44261-6,70274-6"
    search(ehr, "Observation?code=44261-6&date=1999")
    assert AuditEvent.objects.filter(action=FHIR_READ).count() == 1


def test_a_page_costs_the_same_queries_for_many_rows(
    ehr: Client, records: Records, django_assert_max_num_queries: Any
) -> None:
    for resource_type in ("Patient", "CareTeam", "Group", "Observation", "Communication"):
        with django_assert_max_num_queries(12):
            search(ehr, f"{resource_type}?_count=200")
