"""Retention: exactly the patients whose records are past every clinic's retention time are
erased, by the nightly job and the command; --dry-run lists them and writes nothing; the
clinic's settings are changed by an admin and audited."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from trellis.accounts.models import Membership, Role, User
from trellis.alerts.tests.helpers import item9_alert
from trellis.audit.models import AuditEvent
from trellis.care.models import SupportLevel
from trellis.core import periodic
from trellis.interop import tasks as retention_tasks
from trellis.interop.models import DataRightsSettings, Erasure, ErasureStatus
from trellis.interop.retention import apply_retention, due_for_erasure, update_data_rights
from trellis.interop.tests.rights_factories import T0, discharge, enroll

DAYS = 365
NOW = T0 + timedelta(days=500)


@pytest.fixture
def riverside(cast: Any) -> Any:
    clinic = cast.clinics["riverside"]
    DataRightsSettings.objects.create(organization=clinic, retention_days=DAYS)
    return clinic


def _ended(cast: Any, patient: str, *, days_before_now: int, **kwargs: Any) -> Any:
    enrollment = enroll(cast, patient, **kwargs)
    discharge(enrollment, cast, at=NOW - timedelta(days=days_before_now))
    return enrollment


@pytest.mark.django_db
def test_only_patients_past_the_retention_time_with_nothing_active_are_due(
    cast: Any, riverside: Any
) -> None:
    _ended(cast, "patient_alex", days_before_now=DAYS + 1)  # due
    _ended(
        cast,
        "patient_blair",
        days_before_now=DAYS - 1,
        supporters=("coach_jordan",),
        level=SupportLevel.COACHED,
    )  # not yet
    _ended(cast, "patient_casey", days_before_now=DAYS + 30, supporters=())
    enroll(cast, "patient_casey", supporters=(), now=NOW - timedelta(days=10))  # active again
    enroll(cast, "patient_devon", supporters=())  # never ended
    assert [p.email for p in due_for_erasure(riverside, now=NOW)] == [cast["patient_alex"].email]


@pytest.mark.django_db
def test_the_latest_end_counts_when_a_patient_had_several_programs(
    cast: Any, riverside: Any
) -> None:
    _ended(cast, "patient_alex", days_before_now=DAYS + 200)
    _ended(cast, "patient_alex", days_before_now=DAYS - 5)
    assert due_for_erasure(riverside, now=NOW) == []


@pytest.mark.django_db
def test_another_clinics_retention_time_must_have_passed_too(cast: Any, riverside: Any) -> None:
    hillside = cast.clinics["hillside"]
    _ended(cast, "patient_alex", days_before_now=DAYS + 1)
    Membership.objects.create(user=cast["patient_alex"], organization=hillside, role=Role.PATIENT)
    enrollment = enroll(
        cast,
        "patient_alex",
        supporters=("therapist_otto",),
        actor="supervisor_mika",
        organization=hillside,
    )
    discharge(enrollment, cast, at=NOW - timedelta(days=10), actor="therapist_otto")
    assert due_for_erasure(riverside, now=NOW) == []
    DataRightsSettings.objects.create(organization=hillside, retention_days=5)
    assert due_for_erasure(riverside, now=NOW) == [cast["patient_alex"]]


@pytest.mark.django_db
def test_dry_run_lists_who_would_be_erased_and_writes_nothing(cast: Any, riverside: Any) -> None:
    _ended(cast, "patient_alex", days_before_now=DAYS + 1)
    events = AuditEvent.objects.count()
    outcome = apply_retention(riverside, now=NOW, dry_run=True)
    assert outcome.due == [cast["patient_alex"]] and outcome.erased == []
    assert AuditEvent.objects.count() == events
    assert not Erasure.objects.exists()
    assert User.objects.get(pk=cast["patient_alex"].pk).is_active


@pytest.mark.django_db
def test_retention_erases_and_holds_back_an_open_safety_alert(cast: Any, riverside: Any) -> None:
    _ended(cast, "patient_alex", days_before_now=DAYS + 1)
    blair = enroll(cast, "patient_blair", supporters=("coach_jordan",), level=SupportLevel.COACHED)
    item9_alert(blair, now=T0 + timedelta(days=1))
    discharge(blair, cast, at=NOW - timedelta(days=DAYS + 3))

    outcome = apply_retention(riverside, now=NOW)

    assert [e.person_id for e in outcome.erased] == [cast["patient_alex"].pk]
    assert outcome.held_back == {cast["patient_blair"].pk: ["open_safety_alert"]}
    erasure = Erasure.objects.get(person_id=cast["patient_alex"].pk)
    assert (erasure.status, erasure.on_request, erasure.decided_by) == (
        ErasureStatus.DONE,
        False,
        None,
    )
    tombstone = AuditEvent.objects.get(action="person.erased")
    assert tombstone.actor_label == "retention job" and tombstone.details["retention"]
    assert AuditEvent.objects.get(action="retention.run").details == {"erased": 1, "held_back": 1}
    assert apply_retention(riverside, now=NOW).due == []  # nobody twice


@pytest.mark.django_db
def test_the_command_dry_run_and_run(cast: Any, riverside: Any, monkeypatch: Any) -> None:
    _ended(cast, "patient_alex", days_before_now=DAYS + 1)
    monkeypatch.setattr("trellis.core.timeutil.now", lambda: NOW)
    out = io.StringIO()
    call_command("retention", "--dry-run", "--clinic", "riverside", stdout=out)
    assert "would erase 1 patients" in out.getvalue()
    assert cast["patient_alex"].email in out.getvalue()
    assert not Erasure.objects.exists()
    out = io.StringIO()
    call_command("retention", "--clinic", "riverside", stdout=out)
    assert "erased 1 patients" in out.getvalue()
    assert Erasure.objects.filter(status=ErasureStatus.DONE).count() == 1


@pytest.mark.django_db
def test_the_nightly_job_is_registered_and_runs_every_clinic(cast: Any, riverside: Any) -> None:
    job = next(j for j in periodic._registry.values() if j.task is retention_tasks.apply_retention)
    assert job.every == timedelta(days=1)
    _ended(cast, "patient_alex", days_before_now=DAYS + 1)
    # The job reads the clock itself; the discharge is long past the retention time.
    DataRightsSettings.objects.filter(organization=riverside).update(retention_days=30)
    assert retention_tasks.apply_retention.call() == {"erased": 1, "held_back": 0}


@pytest.mark.django_db
def test_an_admin_changes_the_settings_and_it_is_audited(cast: Any) -> None:
    clinic = cast.clinics["riverside"]
    changed = update_data_rights(
        clinic,
        actor=cast["admin_avery"],
        retention_days=2190,
        erasure_on_request=False,
        research_k=10,
        now=NOW,
    )
    assert changed == ["retention_days", "erasure_on_request", "research_k"]
    event = AuditEvent.objects.get(action="data_rights.update")
    assert event.details == {"retention_days": 2190, "erasure_on_request": False, "research_k": 10}
    with pytest.raises(ValidationError) as error:
        update_data_rights(
            clinic,
            actor=cast["admin_avery"],
            retention_days=1,
            erasure_on_request=True,
            research_k=1,
            now=NOW,
        )
    assert set(error.value.message_dict) == {"retention_days", "research_k"}
