"""What the FHIR server refuses, and how: an OperationOutcome with the status that fits,
naming what was wrong; nothing disclosed for a refused request. And the
CapabilityStatement, open to anyone, saying exactly what is supported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from trellis.audit.models import AuditEvent
from trellis.demo import personas
from trellis.interop.disclosures import FHIR_READ
from trellis.interop.fhir import systems
from trellis.interop.fhir.search import DATE, SearchError, parse_date, parse_query
from trellis.interop.fhir.sources import SOURCES
from trellis.interop.tests.fhir_factories import Records, backend_token, build_records, validated

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4"


@pytest.fixture
def records(cast: personas.Cast) -> Records:
    return build_records(cast)


@pytest.fixture
def ehr(records: Records) -> Client:
    _client, secret = backend_token(records.riverside)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def refused(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/fhir+json; fhirVersion=4.0"
    outcome = validated(response.json())
    assert outcome["resourceType"] == "OperationOutcome"
    for word in words:
        assert word in outcome["issue"][0]["diagnostics"]
    assert not AuditEvent.objects.filter(action=FHIR_READ).exists()
    return outcome


@pytest.mark.parametrize("path", ["Medication", "Medication/123", "Encounter?patient=1"])
def test_unknown_resource_type_is_404_naming_it(ehr: Client, path: str) -> None:
    outcome = refused(ehr.get(f"{BASE}/{path}"), 404, path.split("?")[0].split("/")[0])
    assert outcome["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("Patient?name:exact=Alex", ":exact"),
        ("Patient?foo=bar", "'foo'"),
        ("Patient?name=Alex", "'name'"),
        ("Observation?code:text=PHQ", ":text"),
        ("Observation?_sort=date", "'_sort'"),
        ("Observation?_include=Observation:patient", "'_include'"),
        ("Observation?_format=xml", "xml"),
        ("Patient/{alex}?_summary=true", "'_summary'"),
    ],
)
def test_unsupported_parameter_or_modifier_is_400_naming_it(
    ehr: Client, records: Records, query: str, named: str
) -> None:
    response = ehr.get(f"{BASE}/{query.format(alex=records.alex.pk)}")
    outcome = refused(response, 400, named)
    assert outcome["issue"][0]["code"] == "not-supported"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("Observation?date=2026-13-01", "2026-13-01"),
        ("Observation?date=yesterday", "yesterday"),
        ("Observation?date=xx2026", "'xx'"),
        ("Observation?date=2026-05-29T10:00", "time zone"),
        ("Observation?date=2026-02-30", "2026-02-30"),
        ("Patient?_lastUpdated=after2026", "after2026"),
        ("Observation?_count=lots", "_count"),
        ("Observation?_count=-1", "_count"),
        ("Observation?_offset=x", "_offset"),
        ("Observation?patient=Practitioner/1", "Patient"),
    ],
)
def test_malformed_values_are_400(ehr: Client, query: str, named: str) -> None:
    outcome = refused(ehr.get(f"{BASE}/{query}"), 400, named)
    assert outcome["issue"][0]["code"] == "invalid"


def test_json_format_is_accepted(ehr: Client, records: Records) -> None:
    for value in ("json", "application/fhir%2Bjson"):
        assert ehr.get(f"{BASE}/Patient?_format={value}").status_code == 200
        assert ehr.get(f"{BASE}/Patient/{records.alex.pk}?_format={value}").status_code == 200


def test_no_token_is_401_with_a_bearer_challenge(records: Records) -> None:
    response = Client().get(f"{BASE}/Patient")
    refused(response, 401, "Bearer")
    assert response["WWW-Authenticate"].startswith("Bearer")
    wrong = Client(HTTP_AUTHORIZATION="Bearer not-a-token").get(f"{BASE}/Patient")
    refused(wrong, 401, "not known")


def test_expired_token_is_401(records: Records) -> None:
    _client, secret = backend_token(records.riverside, expires_in=timedelta(seconds=-1))
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(f"{BASE}/Patient")
    refused(response, 401, "expired")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_switched_off_client_is_401(records: Records) -> None:
    client, secret = backend_token(records.riverside)
    client.is_active = False
    client.save(update_fields=["is_active"])
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(f"{BASE}/Patient"), 401)


def test_scope_without_the_type_is_403(records: Records) -> None:
    _client, secret = backend_token(records.riverside, scopes="system/Observation.read")
    caller = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert caller.get(f"{BASE}/Observation").status_code == 200
    response = caller.get(f"{BASE}/Patient/{records.alex.pk}")
    assert response.status_code == 403
    assert "Patient" in response.json()["issue"][0]["diagnostics"]
    assert caller.get(f"{BASE}/Communication").status_code == 403


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_writes_are_405(ehr: Client, records: Records, method: str) -> None:
    for path in ("Patient", f"Patient/{records.alex.pk}", "metadata"):
        response = getattr(ehr, method)(
            f"{BASE}/{path}", data="{}", content_type="application/fhir+json"
        )
        refused(response, 405, method.upper())
        assert response["Allow"] == "GET, HEAD"


def test_capability_statement_lists_exactly_what_is_supported(records: Records) -> None:
    response = Client().get(f"{BASE}/metadata")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; fhirVersion=4.0"
    statement = validated(response.json())
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["format"] == ["json"]
    rest = statement["rest"][0]
    listed = {r["type"]: r for r in rest["resource"]}
    bundle = listed.pop("Bundle")  # referrals in: a Bundle may be sent, never read
    assert [i["code"] for i in bundle["interaction"]] == ["create"]
    assert "searchParam" not in bundle
    assert set(listed) == set(SOURCES)
    for resource_type, entry in listed.items():
        assert [i["code"] for i in entry["interaction"]] == ["read", "search-type"]
        assert {p["name"]: p["type"] for p in entry["searchParam"]} == SOURCES[resource_type].params
    security = rest["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    oauth = security["extension"][0]
    assert oauth["url"] == systems.OAUTH_URIS
    assert oauth["extension"] == [
        {"url": "token", "valueUri": "http://testserver/fhir/R4/auth/token"}
    ]
    assert rest["operation"] == [{"name": "export", "definition": systems.EXPORT_OPERATION}]
    assert listed["Group"]["operation"][0]["definition"] == systems.GROUP_EXPORT_OPERATION
    assert listed["Patient"]["operation"][0]["definition"] == systems.PATIENT_EXPORT_OPERATION


def test_every_listed_parameter_is_accepted(ehr: Client) -> None:
    samples = {"token": "x", "reference": "Patient/x", "date": "ge2026", "uri": "urn:x"}
    for resource_type, source in SOURCES.items():
        for name, kind in source.params.items():
            value = (
                "Questionnaire/x"
                if source.targets.get(name) == "Questionnaire"
                else (
                    "Practitioner/x"
                    if source.targets.get(name) == "Practitioner"
                    else samples[kind]
                )
            )
            response = ehr.get(f"{BASE}/{resource_type}", {name: value})
            assert response.status_code == 200, (resource_type, name, response.content)


def test_nothing_else_is_served_under_the_base(ehr: Client) -> None:
    refused(ehr.get(f"{BASE}/Patient/1/_history"), 404, "_history")


def test_date_parsing_without_the_database() -> None:
    day = parse_date("2026-03-08")
    assert (day.low.isoformat(), day.high.isoformat()) == (
        "2026-03-08T00:00:00+00:00",
        "2026-03-09T00:00:00+00:00",
    )
    december = parse_date("le2026-12")
    assert december.prefix == "le"
    assert december.high.year == 2027
    with pytest.raises(SearchError):
        parse_query([("date", "2026-1")], {"date": DATE})
