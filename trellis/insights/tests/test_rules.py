"""The alert rules: inactivity, unanswered messages, deterioration, no improvement; each
condition alerted once, closed by Trellis when it ends, and clinic settings respected."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trellis.alerts import rule_settings
from trellis.alerts.models import Alert, AlertKind, AlertRuleSetting, AlertState
from trellis.alerts.services import close_alert, raise_alert
from trellis.alerts.tests.helpers import (
    T0,
    alex_with_maria,
    blair_coached,
    emery_self_guided,
    enroll_patient,
)
from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment, SupportLevel
from trellis.engagement.events import emit
from trellis.insights import rules
from trellis.measures.models import QuestionnaireAssignment
from trellis.measures.services import submit_response
from trellis.messaging.services import send_message

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def answers_for(code: str, total: int) -> dict[str, int]:
    """Answers adding up to `total`, never touching PHQ-9 item 9 (no safety alert)."""
    items = 8 if code == "PHQ-9" else 7
    values = {}
    for n in range(1, items + 1):
        values[f"q{n}"] = min(3, total)
        total -= values[f"q{n}"]
    if code == "PHQ-9":
        values["q9"] = 0
    return values


def score(enrollment: Enrollment, code: str, total: int, week: int) -> None:
    """The patient answers the questionnaire due in `week` (0 = baseline)."""
    due = (
        QuestionnaireAssignment.objects.filter(enrollment=enrollment, instrument=code)
        .order_by("due_from")
        .filter(due_from__gte=enrollment.started_at + timedelta(weeks=week) - DAY)
        .first()
    )
    assert due is not None
    submit_response(
        enrollment,
        code,
        actor=enrollment.patient,
        answers=answers_for(code, total),
        client_id=uuid.uuid4(),
        now=due.due_from + timedelta(hours=1),
        assignment=due,
    )


def alerts(enrollment: Enrollment, kind: str) -> list[Alert]:
    return list(Alert.objects.filter(enrollment=enrollment, kind=kind).order_by("raised_at"))


def test_no_activity_for_6_days_alerts_the_supporter_once_with_the_reason(cast: Any) -> None:
    enrollment = blair_coached(cast)
    emit(enrollment, "login", at=T0 + DAY)
    assert rules.evaluate(T0 + 5 * DAY).raised == {}
    rules.evaluate(T0 + 7 * DAY)
    rules.evaluate(T0 + 7 * DAY + timedelta(hours=1))
    [alert] = alerts(enrollment, AlertKind.INACTIVITY)
    assert alert.reason == "No activity for 6 days"
    assert alert.assigned_to == cast["coach_jordan"]
    assert alert.data["days"] == 6
    assert alert.condition_since == T0 + DAY
    assert AuditEvent.objects.filter(action="alert.raised", object_id=str(alert.pk)).exists()


def test_self_guided_patients_get_10_days_before_an_inactivity_alert(cast: Any) -> None:
    enrollment = emery_self_guided(cast)
    rules.evaluate(T0 + 9 * DAY)
    assert alerts(enrollment, AlertKind.INACTIVITY) == []
    rules.evaluate(T0 + 11 * DAY)
    [alert] = alerts(enrollment, AlertKind.INACTIVITY)
    assert alert.reason == "No activity for 11 days"
    assert alert.assigned_to is None


def test_questionnaires_falling_due_are_not_activity(cast: Any) -> None:
    enrollment = blair_coached(cast)
    emit(enrollment, "questionnaire_due", at=T0 + 5 * DAY)
    rules.evaluate(T0 + 6 * DAY)
    assert len(alerts(enrollment, AlertKind.INACTIVITY)) == 1


def test_returning_activity_resolves_the_alert_and_a_new_silence_raises_a_new_one(
    cast: Any,
) -> None:
    enrollment = blair_coached(cast)
    rules.evaluate(T0 + 6 * DAY)
    emit(enrollment, "mood_checkin", at=T0 + 7 * DAY)
    result = rules.evaluate(T0 + 7 * DAY + timedelta(hours=1))
    assert result.resolved == 1
    [first] = alerts(enrollment, AlertKind.INACTIVITY)
    assert first.state == AlertState.RESOLVED
    assert first.close_reason == "The patient is active again"
    assert AuditEvent.objects.filter(action="alert.resolved", object_id=str(first.pk)).exists()
    rules.evaluate(T0 + 13 * DAY)
    assert [a.state for a in alerts(enrollment, AlertKind.INACTIVITY)] == [
        AlertState.RESOLVED,
        AlertState.OPEN,
    ]


def test_a_dismissed_inactivity_alert_is_not_raised_again_for_the_same_silence(
    cast: Any,
) -> None:
    enrollment = blair_coached(cast)
    rules.evaluate(T0 + 6 * DAY)
    [alert] = alerts(enrollment, AlertKind.INACTIVITY)
    close_alert(
        alert,
        actor=cast["coach_jordan"],
        state=AlertState.DISMISSED,
        reason="On holiday this week, told us in advance",
        now=T0 + 6 * DAY,
    )
    rules.evaluate(T0 + 8 * DAY)
    assert len(alerts(enrollment, AlertKind.INACTIVITY)) == 1


def test_an_acknowledged_alert_suppresses_a_new_one(cast: Any) -> None:
    enrollment = blair_coached(cast)
    first = raise_alert(
        enrollment,
        kind=AlertKind.MISSED_SESSION,
        severity="medium",
        reason="Missed the session on 3 March",
        assigned_to=None,
        now=T0,
    )
    assert first is not None
    first.state = AlertState.ACKNOWLEDGED
    first.save(update_fields=["state"])
    again = raise_alert(
        enrollment,
        kind=AlertKind.MISSED_SESSION,
        severity="medium",
        reason="Missed the session on 10 March",
        assigned_to=None,
        now=T0 + 7 * DAY,
    )
    assert again is not None and again.pk == first.pk


def test_a_message_waiting_2_days_alerts_and_a_reply_resolves_it(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    emit(enrollment, "login", at=T0 + 3 * DAY)  # active, so only the message counts
    send_message(
        enrollment,
        sender=cast["patient_alex"],
        body="Hello?",
        client_id=uuid.uuid4(),
        now=T0 + 3 * DAY,
    )
    rules.evaluate(T0 + 4 * DAY)
    assert alerts(enrollment, AlertKind.UNANSWERED_MESSAGE) == []
    rules.evaluate(T0 + 5 * DAY + timedelta(hours=2))
    [alert] = alerts(enrollment, AlertKind.UNANSWERED_MESSAGE)
    assert alert.reason == "Message waiting 2 days"
    assert alert.assigned_to == cast["therapist_maria"]
    send_message(
        enrollment,
        sender=cast["therapist_maria"],
        body="Sorry, here now.",
        client_id=uuid.uuid4(),
        now=T0 + 5 * DAY + timedelta(hours=3),
    )
    rules.evaluate(T0 + 5 * DAY + timedelta(hours=4))
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.close_reason == "A reply was sent"
    # A later message is a new condition: a new alert once it has waited.
    send_message(
        enrollment,
        sender=cast["patient_alex"],
        body="Another question",
        client_id=uuid.uuid4(),
        now=T0 + 6 * DAY,
    )
    rules.evaluate(T0 + 8 * DAY + timedelta(hours=1))
    assert len(alerts(enrollment, AlertKind.UNANSWERED_MESSAGE)) == 2


def test_phq9_up_7_points_raises_reliable_deterioration(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    score(enrollment, "PHQ-9", 8, week=0)
    score(enrollment, "PHQ-9", 15, week=1)
    now = T0 + 8 * DAY
    rules.evaluate(now)
    [alert] = alerts(enrollment, AlertKind.DETERIORATION)
    assert alert.reason == "PHQ-9 up 7 points since the start"
    assert alert.severity == "high"
    assert alert.data["first"] == {"PHQ-9": 8}
    assert alert.data["latest"] == {"PHQ-9": 15}
    rules.evaluate(now + DAY)
    assert len(alerts(enrollment, AlertKind.DETERIORATION)) == 1


def test_one_reliably_up_and_the_other_reliably_down_is_not_deterioration(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    score(enrollment, "PHQ-9", 8, week=0)
    score(enrollment, "GAD-7", 15, week=0)
    score(enrollment, "PHQ-9", 15, week=1)
    score(enrollment, "GAD-7", 9, week=1)
    rules.evaluate(T0 + 8 * DAY)
    assert alerts(enrollment, AlertKind.DETERIORATION) == []


def test_no_reliable_improvement_by_week_6_is_raised_once(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    score(enrollment, "PHQ-9", 14, week=0)
    score(enrollment, "PHQ-9", 12, week=1)
    rules.evaluate(T0 + 5 * 7 * DAY)
    assert alerts(enrollment, AlertKind.NO_IMPROVEMENT) == []
    rules.evaluate(T0 + 6 * 7 * DAY + DAY)
    [alert] = alerts(enrollment, AlertKind.NO_IMPROVEMENT)
    assert alert.reason == "No reliable improvement after 6 weeks (PHQ-9 14 → 12)"
    close_alert(alert, actor=cast["therapist_maria"], state=AlertState.RESOLVED, now=T0 + 43 * DAY)
    rules.evaluate(T0 + 50 * DAY)
    assert len(alerts(enrollment, AlertKind.NO_IMPROVEMENT)) == 1


def test_reliable_improvement_raises_nothing(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    score(enrollment, "PHQ-9", 16, week=0)
    score(enrollment, "PHQ-9", 9, week=1)
    rules.evaluate(T0 + 43 * DAY)
    assert alerts(enrollment, AlertKind.NO_IMPROVEMENT) == []
    assert alerts(enrollment, AlertKind.DETERIORATION) == []


def test_clinic_settings_change_thresholds_per_level_and_switch_rules_off(cast: Any) -> None:
    blair = blair_coached(cast)
    emery = emery_self_guided(cast)
    riverside = blair.organization
    AlertRuleSetting.objects.create(
        organization=riverside, kind=AlertKind.INACTIVITY, support_level="", threshold=3
    )
    AlertRuleSetting.objects.create(
        organization=riverside,
        kind=AlertKind.INACTIVITY,
        support_level=SupportLevel.SELF_GUIDED,
        enabled=False,
    )
    rules.evaluate(T0 + 4 * DAY)
    assert len(alerts(blair, AlertKind.INACTIVITY)) == 1
    rules.evaluate(T0 + 30 * DAY)
    assert alerts(emery, AlertKind.INACTIVITY) == []
    setting = rule_settings.setting_for(
        riverside.pk, AlertKind.INACTIVITY, SupportLevel.THERAPIST_ASSISTED
    )
    assert (setting.enabled, setting.threshold) == (True, 3)


def test_a_switched_off_missed_session_rule_raises_nothing(cast: Any) -> None:
    enrollment = blair_coached(cast)
    AlertRuleSetting.objects.create(
        organization=enrollment.organization, kind=AlertKind.MISSED_SESSION, enabled=False
    )
    made = raise_alert(
        enrollment,
        kind=AlertKind.MISSED_SESSION,
        severity="medium",
        reason="Missed the session",
        assigned_to=None,
        now=T0,
    )
    assert made is None
    assert alerts(enrollment, AlertKind.MISSED_SESSION) == []


def _finding_queries(now: datetime) -> int:
    with CaptureQueriesContext(connection) as captured:
        rules.inactive(now)
        rules.unanswered(now)
        rules.score_changes(now, Enrollment.objects.all())
    return len(captured)


def test_finding_who_needs_an_alert_costs_the_same_queries_for_one_or_three_patients(
    cast: Any,
) -> None:
    blair = blair_coached(cast)
    score(blair, "PHQ-9", 8, week=0)
    score(blair, "PHQ-9", 15, week=1)
    now = T0 + 14 * DAY
    one = _finding_queries(now)
    for key in ("patient_alex", "patient_emery"):
        enrollment = enroll_patient(cast, key, SupportLevel.COACHED, ("coach_jordan",))
        score(enrollment, "PHQ-9", 8, week=0)
        score(enrollment, "PHQ-9", 15, week=1)
    assert len(rules.inactive(now)) == 3
    assert len(rules.score_changes(now, Enrollment.objects.all())) == 3
    assert _finding_queries(now) == one


def test_deterioration_of_a_coached_patient_suggests_stepping_up_for_a_clinician_to_decide(
    cast: Any,
) -> None:
    from trellis.care.models import StepChangeStatus, SteppedCareChange

    enrollment = blair_coached(cast)
    score(enrollment, "PHQ-9", 8, week=0)
    score(enrollment, "PHQ-9", 15, week=1)
    rules.evaluate(T0 + 8 * DAY)
    [change] = SteppedCareChange.objects.filter(enrollment=enrollment)
    assert (change.from_level, change.to_level) == ("coached", "therapist_assisted")
    assert change.suggested_by is None
    assert change.status == StepChangeStatus.SUGGESTED
    assert "PHQ-9 up 7 points" in change.reason
    [alert] = alerts(enrollment, AlertKind.STEP_CHANGE)
    assert alert.reason.startswith("Suggested step up to Therapist-assisted")
    enrollment.refresh_from_db()
    assert enrollment.support_level == "coached"  # nothing changes until someone confirms
    rules.evaluate(T0 + 9 * DAY)
    assert SteppedCareChange.objects.filter(enrollment=enrollment).count() == 1


def test_deterioration_of_a_therapist_assisted_patient_suggests_no_step(cast: Any) -> None:
    from trellis.care.models import SteppedCareChange

    enrollment = alex_with_maria(cast)
    score(enrollment, "PHQ-9", 8, week=0)
    score(enrollment, "PHQ-9", 15, week=1)
    rules.evaluate(T0 + 8 * DAY)
    assert not SteppedCareChange.objects.filter(enrollment=enrollment).exists()
    assert alerts(enrollment, AlertKind.STEP_CHANGE) == []


def test_gad7_alone_up_exactly_its_reliable_change_raises_deterioration(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    score(enrollment, "GAD-7", 6, week=0)
    score(enrollment, "GAD-7", 10, week=1)
    rules.evaluate(T0 + 8 * DAY)
    [alert] = alerts(enrollment, AlertKind.DETERIORATION)
    assert alert.reason == "GAD-7 up 4 points since the start"


def test_gad7_alone_up_one_point_less_raises_nothing(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    score(enrollment, "GAD-7", 6, week=0)
    score(enrollment, "GAD-7", 9, week=1)
    rules.evaluate(T0 + 8 * DAY)
    assert alerts(enrollment, AlertKind.DETERIORATION) == []


def test_the_deterioration_rule_is_described_with_the_instrument_files_figures() -> None:
    label = str(rule_settings.DEFAULTS[AlertKind.DETERIORATION].label)
    assert label == "Reliable deterioration (PHQ-9 up 6 or more, or GAD-7 up 4 or more)"
