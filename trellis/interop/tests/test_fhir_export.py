"""The resources a bulk export and a patient's own download are made of: every type,
streamed without a query per row, limited to patients and to changes since a moment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from trellis.core import timeutil
from trellis.demo import personas
from trellis.interop.fhir.export import (
    EXPORT_TYPES,
    iter_resources,
    patient_everything,
    patient_ids_in_group,
)
from trellis.interop.tests.fhir_factories import Records, build_records, validated

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(cast: personas.Cast) -> Records:
    return build_records(cast)


def _all(records: Records, resource_type: str, **kw: Any) -> list[dict[str, Any]]:
    options: dict[str, Any] = {"patient_ids": None, "since": None, "include_message_text": False}
    options.update(kw)
    return [validated(r) for r in iter_resources(records.riverside, resource_type, **options)]


def test_every_export_type_yields_valid_resources_of_the_clinic_only(records: Records) -> None:
    by_type = {t: _all(records, t) for t in EXPORT_TYPES}
    assert {r["resourceType"] for rs in by_type.values() for r in rs} == set(EXPORT_TYPES)
    assert [p["id"] for p in by_type["Patient"]] == [str(records.alex.pk)]
    responses = {r["id"] for r in by_type["QuestionnaireResponse"]}
    assert responses == {str(records.eheals.pk), str(records.phq9.pk), str(records.gad7.pk)}
    codes = {c["code"] for o in by_type["Observation"] for c in o["code"]["coding"]}
    assert {"44261-6", "70274-6", "44250-9", "69725-0", "eHEALS"} <= codes
    assert str(records.farah.pk) not in str(by_type)


def test_message_text_only_when_asked(records: Records) -> None:
    without = _all(records, "Communication")
    with_text = _all(records, "Communication", include_message_text=True)
    assert all("payload" not in c for c in without)
    assert "The breathing exercise helped" in str(with_text)
    assert "The breathing exercise helped" not in str(without)


def test_patient_ids_and_since_limit_what_is_exported(records: Records) -> None:
    assert _all(records, "Observation", patient_ids={str(records.farah.pk)}) == []
    assert (
        len(_all(records, "Observation", patient_ids={str(records.alex.pk)})) == 2 + 10 + 7 + 1 + 8
    )
    later = timeutil.now() + timedelta(minutes=1)
    assert _all(records, "QuestionnaireResponse", since=later) == []
    assert len(_all(records, "Questionnaire", since=later)) == 5


def test_group_members_are_the_programs_patients_in_the_clinic(records: Records) -> None:
    program_id = str(records.enrollment.program_version.program_id)
    assert patient_ids_in_group(records.riverside, program_id) == {str(records.alex.pk)}
    assert patient_ids_in_group(records.hillside, program_id) == {str(records.farah.pk)}
    assert patient_ids_in_group(records.riverside, "not-a-group") is None
    groups = _all(records, "Group")
    assert [m["entity"]["reference"] for m in groups[0]["member"]] == [f"Patient/{records.alex.pk}"]


def test_streaming_costs_the_same_queries_for_more_rows(
    records: Records, django_assert_max_num_queries: Any
) -> None:
    for resource_type in EXPORT_TYPES:
        with django_assert_max_num_queries(4):
            _all(records, resource_type)


def test_patient_everything_is_a_valid_collection_with_the_words(records: Records) -> None:
    bundle = validated(patient_everything(records.alex))
    assert bundle["type"] == "collection"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == set(EXPORT_TYPES) - {"Group"}
    assert "Keep it up this week." in str(bundle)
    assert str(records.farah.pk) not in str(bundle)
    assert all(e["fullUrl"].startswith("http") for e in bundle["entry"])
