"""Reads of patient data in the trail: `note_read`, its vocabulary, and finding a patient's
reads again (the reads of a list name their patients in the event's details)."""

from __future__ import annotations

from typing import Any

import pytest

from trellis.accounts.models import TokenScope
from trellis.accounts.services.tokens import create_api_token
from trellis.audit.models import AuditEvent
from trellis.audit.queries import EventFilter, about_patient, apply_filter, events_about
from trellis.audit.reads import Read
from trellis.audit.services import note_read


def test_a_therapist_reading_a_patients_scores_is_one_event_naming_the_patient(cast: Any) -> None:
    maria, alex = cast["therapist_maria"], cast["patient_alex"]

    event = note_read(actor=maria, what=Read.SCORES, via="api", patient=alex, subject=alex)

    assert event is not None
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.actor_id, stored.patient_id) == (
        "measures.view",
        maria.pk,
        alex.pk,
    )
    assert stored.actor_label == maria.email
    assert stored.details == {"via": "api"}
    assert stored.organization_id == cast.clinics["riverside"].pk


def test_a_patient_reading_their_own_data_writes_nothing(cast: Any) -> None:
    alex = cast["patient_alex"]
    before = AuditEvent.objects.count()

    assert note_read(actor=alex, what=Read.JOURNEY, via="page", patient=alex.pk) is None
    assert note_read(actor=alex, what=Read.ENROLLMENTS, via="api", patients=[alex.pk]) is None
    assert AuditEvent.objects.count() == before


def test_a_list_is_one_event_with_the_count_and_the_ids_of_its_patients(cast: Any) -> None:
    maria, alex, blair = cast["therapist_maria"], cast["patient_alex"], cast["patient_blair"]

    event = note_read(
        actor=maria, what=Read.CASELOAD, via="page", patients=[blair.pk, alex.pk, alex.pk]
    )

    assert event is not None
    assert event.action == "caseload.view"
    assert event.patient_id is None
    assert event.details["count"] == 2
    assert event.details["patients"] == sorted([str(alex.pk), str(blair.pk)])


def test_a_list_that_showed_nobody_writes_nothing(cast: Any) -> None:
    before = AuditEvent.objects.count()

    assert note_read(actor=cast["admin_avery"], what=Read.ALERTS, via="api", patients=[]) is None
    assert AuditEvent.objects.count() == before


def test_a_tokens_read_names_the_token_and_its_clinic_never_its_secret(cast: Any) -> None:
    riverside = cast.clinics["riverside"]
    token, secret = create_api_token(
        organization=riverside, name="EHR feed", scope=TokenScope.READ, actor=cast["admin_avery"]
    )
    alex = cast["patient_alex"]

    event = note_read(actor=token, what=Read.APPOINTMENTS, via="api", patient=alex)

    assert event is not None
    assert event.actor_id is None
    assert event.actor_label == f"API token {token.prefix}"
    assert event.details == {"via": "api", "api_token": token.prefix}
    assert event.organization_id == riverside.pk
    assert event.patient_id == alex.pk
    assert secret not in str(event.details) + event.actor_label


def test_a_read_comes_through_a_page_or_the_api_only(cast: Any) -> None:
    with pytest.raises(ValueError, match="page"):
        note_read(actor=cast["therapist_maria"], what=Read.RECORD, via="csv", patient=None)


def test_a_patients_events_include_the_lists_that_showed_them(cast: Any) -> None:
    """A patient's accounting of reads (the trail's patient filter and `trellis audit
    report --patient`) finds the caseloads and inboxes they were listed in, and no list
    they were not in."""
    maria, alex, blair = cast["therapist_maria"], cast["patient_alex"], cast["patient_blair"]
    with_alex = note_read(actor=maria, what=Read.CASELOAD, via="page", patients=[alex, blair])
    without_alex = note_read(actor=maria, what=Read.ALERTS, via="api", patients=[blair])
    one = note_read(actor=maria, what=Read.RECORD, via="page", patient=alex)
    assert with_alex and without_alex and one

    found = set(AuditEvent.objects.filter(about_patient(alex.pk)).values_list("pk", flat=True))
    assert {with_alex.pk, one.pk} <= found
    assert without_alex.pk not in found
    assert with_alex.pk in set(events_about(patient=alex.pk).values_list("pk", flat=True))
    filtered = apply_filter(AuditEvent.objects.all(), EventFilter(patient=alex.pk), tz_name="UTC")
    assert with_alex.pk in set(filtered.values_list("pk", flat=True))
