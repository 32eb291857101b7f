"""Reminder rules: the clinic's defaults, a program's rule overriding the clinic's, rules
refused outside the clinic's hours, and which enrollments each kind finds due, in a
fixed number of queries however many patients there are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from trellis.audit.models import AuditEvent
from trellis.engagement.events import emit
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.measures.models import AssignmentStatus, QuestionnaireAssignment
from trellis.messaging.models import Message
from trellis.messaging.services import send_message
from trellis.nudges import rules
from trellis.nudges.models import OutreachSettings, ReminderRule, RuleKind
from trellis.nudges.tests.decision_helpers import (
    T0,
    enroll_persona,
    more_patients,
    only_rule,
    prefer,
)

pytestmark = pytest.mark.django_db


def due_now(rule: ReminderRule, now: datetime, **kwargs: Any) -> list[rules.Due]:
    [(fresh, overridden)] = [
        (r, o) for r, o in rules.rules_in_force(kinds=[rule.kind]) if r.pk == rule.pk
    ]
    return rules.due(fresh, now, zones=rules.zones_in_use(), overridden=overridden, **kwargs)


def test_a_clinic_gets_every_default_rule_once(cast: Any) -> None:
    riverside = cast.clinics["riverside"]
    first = rules.ensure_default_rules(riverside)
    again = rules.ensure_default_rules(riverside)
    assert sorted(r.kind for r in first) == sorted(RuleKind.values)
    assert [r.pk for r in again] == [r.pk for r in first]
    assert OutreachSettings.objects.filter(organization=riverside).count() == 1


def test_a_rule_only_outside_the_clinics_hours_is_refused_with_the_reason(cast: Any) -> None:
    riverside = cast.clinics["riverside"]
    rules.ensure_default_rules(riverside)
    with pytest.raises(ValidationError) as refused:
        rules.save_rule(
            organization=riverside,
            actor=cast["admin_avery"],
            kind=RuleKind.EXERCISE_TODAY,
            values={"window_from": time(22, 0), "window_until": time(23, 0), "send_at": None},
        )
    assert refused.value.message_dict["window_from"] == [
        "This rule would send only between 22:00 and 23:00, outside the clinic's hours 08:00-21:00."
    ]
    rule = ReminderRule.objects.get(organization=riverside, kind=RuleKind.EXERCISE_TODAY)
    assert rule.window_from == time(9, 0)
    assert not AuditEvent.objects.filter(action="nudges.rule.save").exists()


def test_a_send_time_outside_the_clinics_hours_is_refused(cast: Any) -> None:
    riverside = cast.clinics["riverside"]
    rules.ensure_default_rules(riverside)
    with pytest.raises(ValidationError) as refused:
        rules.save_rule(
            organization=riverside,
            actor=cast["admin_avery"],
            kind=RuleKind.INACTIVITY,
            values={"send_at": time(6, 30)},
        )
    assert "06:30" in refused.value.message_dict["send_at"][0]


def test_narrowing_the_clinics_hours_under_a_rule_is_refused(cast: Any) -> None:
    riverside = cast.clinics["riverside"]
    rules.ensure_default_rules(riverside)
    with pytest.raises(ValidationError) as refused:
        rules.save_outreach_settings(
            organization=riverside,
            actor=cast["admin_avery"],
            values={"allowed_from": time(20, 30), "allowed_until": time(21, 0)},
        )
    assert "outside the clinic's hours 20:30-21:00" in str(refused.value)
    assert OutreachSettings.objects.get(organization=riverside).allowed_from == time(8, 0)


def test_a_program_rule_overrides_the_clinic_rule_and_changes_are_audited(cast: Any) -> None:
    riverside = cast.clinics["riverside"]
    rules.ensure_default_rules(riverside)
    rule = rules.save_rule(
        organization=riverside,
        actor=cast["admin_avery"],
        kind=RuleKind.INACTIVITY,
        program_key="test-steady-steps",
        values={"inactivity_days": 2, "send_probability": Decimal("0.5")},
    )
    assert rule.send_at == time(17, 0)  # the rest comes from the clinic's rule
    in_force = {
        (r.program_key, tuple(o)) for r, o in rules.rules_in_force(kinds=[RuleKind.INACTIVITY])
    }
    assert in_force == {("", ("test-steady-steps",)), ("test-steady-steps", ())}
    event = AuditEvent.objects.get(action="nudges.rule.save")
    assert event.details["inactivity_days"] == [4, 2]
    assert event.details["send_probability"] == ["1.000", "0.5"]


def test_exercise_reminder_is_due_at_the_patients_time_in_their_zone(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 30), time_zone="Europe/Helsinki")
    rule = only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    # 09:29 and 09:30 in Helsinki (UTC+2 in March).
    assert due_now(rule, datetime(2026, 3, 3, 7, 29, tzinfo=UTC)) == []
    [found] = due_now(rule, datetime(2026, 3, 3, 7, 30, tzinfo=UTC))
    assert (found.enrollment_id, found.period) == (alex.pk, "2026-03-03")
    assert found.send_from == datetime(2026, 3, 3, 7, 30, tzinfo=UTC)


def test_no_exercise_reminder_after_a_step_was_done_today(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(18, 0))
    rule = only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    step = alex.program_version.steps.order_by("position").first()
    StepProgress.objects.create(
        enrollment=alex,
        step=step,
        status=ProgressStatus.COMPLETED,
        completed_at=datetime(2026, 3, 3, 14, 0, tzinfo=UTC),  # 09:00 in New York
    )
    assert due_now(rule, datetime(2026, 3, 3, 23, 0, tzinfo=UTC)) == []
    [tomorrow] = due_now(rule, datetime(2026, 3, 4, 23, 0, tzinfo=UTC))
    assert tomorrow.period == "2026-03-04"


def test_a_reminder_time_before_the_rules_window_waits_for_it(cast: Any) -> None:
    enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(6, 0))
    rule = only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    assert due_now(rule, datetime(2026, 3, 3, 13, 59, tzinfo=UTC)) == []  # 08:59 EST
    [found] = due_now(rule, datetime(2026, 3, 3, 14, 0, tzinfo=UTC))
    assert found.send_from == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def test_inactivity_is_due_once_per_spell_without_patient_activity(cast: Any) -> None:
    alex = enroll_persona(cast)
    rule = only_rule(cast.clinics["riverside"], RuleKind.INACTIVITY, inactivity_days=3)
    emit(alex, "reminder_sent", at=T0 + timedelta(days=2), value="email")  # not activity
    assert due_now(rule, datetime(2026, 3, 4, 23, 0, tzinfo=UTC)) == []
    [found] = due_now(rule, datetime(2026, 3, 5, 23, 0, tzinfo=UTC))
    assert found.period == "idle:20260302T140000Z/2026-03-05"
    emit(alex, "mood_checkin", at=datetime(2026, 3, 6, 1, 0, tzinfo=UTC), value="6")
    assert due_now(rule, datetime(2026, 3, 7, 23, 0, tzinfo=UTC)) == []
    [later] = due_now(rule, datetime(2026, 3, 9, 23, 0, tzinfo=UTC))
    assert later.period == "idle:20260306T010000Z/2026-03-09"


def test_questionnaire_due_and_overdue_read_the_measures_schedule(cast: Any) -> None:
    alex = enroll_persona(cast)
    due_rule = only_rule(cast.clinics["riverside"], RuleKind.QUESTIONNAIRE_DUE)
    baseline = QuestionnaireAssignment.objects.filter(enrollment=alex, due_from__lte=T0)
    assert baseline.exists()
    # 10:00 in New York the day after enrolling: the baseline questionnaires are due.
    [found] = due_now(due_rule, datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
    assert found.context["questionnaires"] == baseline.count()
    overdue_rule = only_rule(cast.clinics["riverside"], RuleKind.QUESTIONNAIRE_OVERDUE)
    assert due_now(overdue_rule, datetime(2026, 3, 3, 15, 0, tzinfo=UTC)) == []
    first = baseline.order_by("overdue_after").first()
    assert first is not None
    later = (first.overdue_after + timedelta(days=1)).replace(hour=15, minute=0)
    day = later.astimezone(ZoneInfo("America/New_York")).date()
    # Past its overdue time: found whether or not the measures clock marked it yet.
    [overdue] = due_now(overdue_rule, later)
    assert overdue.period == f"qover:{first.overdue_after:%Y%m%dT%H%M%SZ}/{day}"
    baseline.update(status=AssignmentStatus.OVERDUE)
    assert len(due_now(overdue_rule, later)) == 1
    baseline.update(status=AssignmentStatus.COMPLETED)
    assert due_now(overdue_rule, later) == []


def test_message_waiting_is_due_for_an_unread_message_from_the_care_team(cast: Any) -> None:
    alex = enroll_persona(cast, level="therapist_assisted", supporters=("therapist_maria",))
    rule = only_rule(cast.clinics["riverside"], RuleKind.MESSAGE_WAITING)
    sent_at = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    send_message(
        alex,
        sender=cast["therapist_maria"],
        body="How did the breathing go?",
        client_id=uuid.uuid4(),
        now=sent_at,
    )
    assert due_now(rule, sent_at + timedelta(hours=1)) == []
    [found] = due_now(rule, sent_at + timedelta(hours=2))
    assert found.period == "msg:20260303T140000Z/2026-03-03"
    Message.objects.filter(thread__enrollment=alex).update(read_at=sent_at + timedelta(hours=3))
    assert due_now(rule, sent_at + timedelta(hours=4)) == []


def test_weekly_summary_only_for_patients_who_asked_on_sunday(cast: Any) -> None:
    enroll_persona(cast)
    enroll_persona(cast, "patient_blair")
    prefer(cast["patient_alex"], weekly_summary=True, reminder_time=time(11, 0))
    rule = only_rule(cast.clinics["riverside"], RuleKind.WEEKLY_SUMMARY)
    saturday = datetime(2026, 3, 7, 17, 0, tzinfo=UTC)
    assert due_now(rule, saturday) == []
    [found] = due_now(rule, saturday + timedelta(days=1))
    assert found.recipient_id == cast["patient_alex"].pk
    assert found.period == "2026-W10"


@pytest.mark.parametrize("extra", [0, 12])
def test_the_due_query_costs_the_same_for_2_or_14_patients(
    cast: Any, extra: int, django_assert_num_queries: Any
) -> None:
    """Each kind's query is one statement with one condition per time zone in use."""
    riverside = cast.clinics["riverside"]
    enroll_persona(cast)
    enroll_persona(cast, "patient_blair")
    more_patients(riverside, extra)
    rules.ensure_default_rules(riverside)
    now = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)  # a Sunday evening in New York
    zones = rules.zones_in_use()
    in_force = rules.rules_in_force(kinds=rules.DECIDED_HERE)
    counts = {}
    for rule, overridden in in_force:
        with django_assert_num_queries(1):
            counts[rule.kind] = len(rules.due(rule, now, zones=zones, overridden=overridden))
    assert counts[RuleKind.INACTIVITY] == 2 + extra
