"""Decision points: claimed once per (rule, enrollment, period), availability recorded with
its reason, the random draw of a micro-randomized trial recorded with the action it gave,
and the proximal outcome 24 hours later; the supporters' digest."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trellis.engagement.events import emit
from trellis.messaging.services import send_message
from trellis.nudges import decisions, rules
from trellis.nudges.messages import render
from trellis.nudges.models import (
    Action,
    DecisionPoint,
    Delivery,
    DeliveryStatus,
    OutreachSettings,
    ReminderRule,
    RuleKind,
)
from trellis.nudges.tests.decision_helpers import (
    enroll_persona,
    more_patients,
    only_rule,
    prefer,
    seeded,
)

pytestmark = pytest.mark.django_db

# 09:00 in New York on Tuesday 3 March 2026 (EST, UTC-5).
NINE_NY = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def test_a_rule_evaluated_twice_in_a_period_makes_one_decision_and_one_nudge(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 0), reminder_channels=["in_app"])
    only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    first = decisions.evaluate_rules(NINE_NY, draws=seeded())
    again = decisions.evaluate_rules(NINE_NY + timedelta(minutes=5), draws=seeded())
    assert [d.action for d in first.decisions] == [Action.SEND]
    assert again.decisions == []
    point = DecisionPoint.objects.get()
    assert (point.enrollment_id, point.period, point.available) == (alex.pk, "2026-03-03", True)
    assert point.probability == Decimal("1.000") and 0 <= (point.draw or 0) < 1
    assert point.outcome_due_at == NINE_NY + timedelta(hours=24)
    [delivery] = Delivery.objects.filter(decision=point)
    assert (delivery.channel, delivery.status, delivery.template) == (
        "in_app",
        DeliveryStatus.QUEUED,
        "exercise_today",
    )
    assert delivery.key == f"decision:{point.pk}:in_app"


def test_a_second_clock_deciding_the_same_point_loses_the_claim(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 0))
    rule = only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    [due] = rules.due(rule, NINE_NY, zones=rules.zones_in_use())
    one = decisions.decide(due, now=NINE_NY, enrollment=alex, draws=seeded())
    two = decisions.decide(due, now=NINE_NY, enrollment=alex, draws=seeded())
    assert (one.claimed, two.claimed) == (True, False)
    assert DecisionPoint.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_an_unavailable_patient_is_not_randomised_and_the_reason_is_kept(cast: Any) -> None:
    enroll_persona(cast)
    prefer(
        cast["patient_alex"],
        reminder_time=time(9, 0),
        quiet_hours_start=time(8, 0),
        quiet_hours_end=time(10, 0),
    )
    only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY, send_probability=Decimal("0.5"))
    decisions.evaluate_rules(NINE_NY, draws=seeded())
    point = DecisionPoint.objects.get()
    assert (point.available, point.unavailable_reason) == (False, "quiet_hours")
    assert (point.draw, point.action) == (None, Action.NONE)
    assert not Delivery.objects.exists()


def test_the_draw_sends_below_the_probability_and_holds_above() -> None:
    draws = random.Random(7)
    chosen = [decisions.choose(Decimal("0.5"), draws) for _ in range(10_000)]
    assert all((draw < 0.5) == (action == Action.SEND) for draw, action in chosen)
    share = sum(action == Action.SEND for _draw, action in chosen) / len(chosen)
    assert 0.48 < share < 0.52
    assert {decisions.choose(Decimal("0"), draws)[1] for _ in range(100)} == {Action.HOLD}
    assert {decisions.choose(Decimal("1"), draws)[1] for _ in range(100)} == {Action.SEND}


def test_a_trial_at_probability_one_half_records_each_draw_and_action(cast: Any) -> None:
    """Sixty days of one patient's exercise rule at p = 0.5 (caps raised so that every
    day is available): each decision keeps its draw, and about half send."""
    enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 0))
    riverside = cast.clinics["riverside"]
    only_rule(riverside, RuleKind.EXERCISE_TODAY, send_probability=Decimal("0.5"))
    OutreachSettings.objects.filter(organization=riverside).update(daily_cap=20, weekly_cap=50)
    draws = seeded(11)
    for day in range(60):
        decisions.evaluate_rules(NINE_NY + timedelta(days=day, hours=1), draws=draws)
    points = list(DecisionPoint.objects.all())
    assert len(points) == 60
    assert all(p.available and p.probability == Decimal("0.5") for p in points)
    assert all((p.draw is not None and p.draw < 0.5) == (p.action == Action.SEND) for p in points)
    sent = sum(p.action == Action.SEND for p in points)
    assert 20 <= sent <= 40
    assert Delivery.objects.filter(decision__action=Action.HOLD).count() == 0
    assert Delivery.objects.filter(decision__action=Action.SEND).count() == sent


def test_proximal_outcome_is_any_patient_activity_in_the_next_24_hours(cast: Any) -> None:
    alex = enroll_persona(cast)
    blair = enroll_persona(cast, "patient_blair")
    for user in ("patient_alex", "patient_blair"):
        prefer(cast[user], reminder_time=time(9, 0))
    only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    decisions.evaluate_rules(NINE_NY, draws=seeded())
    emit(alex, "mood_checkin", at=NINE_NY + timedelta(hours=5), value="7")
    # Blair: only Trellis's own events, and activity after the 24 hours.
    emit(blair, "reminder_sent", at=NINE_NY + timedelta(minutes=1), value="in_app")
    emit(blair, "login", at=NINE_NY + timedelta(hours=24, seconds=1))
    assert decisions.record_proximal_outcomes(NINE_NY + timedelta(hours=23)) == 0
    assert decisions.record_proximal_outcomes(NINE_NY + timedelta(hours=24)) == 2
    outcomes = dict(DecisionPoint.objects.values_list("enrollment_id", "outcome_active"))
    assert outcomes == {alex.pk: True, blair.pk: False}
    assert set(DecisionPoint.objects.values_list("outcome_recorded_at", flat=True)) == {
        NINE_NY + timedelta(hours=24)
    }
    assert decisions.record_proximal_outcomes(NINE_NY + timedelta(hours=30)) == 0


def test_the_supporters_digest_counts_what_needs_them_without_names(cast: Any) -> None:
    alex = enroll_persona(cast, level="therapist_assisted", supporters=("therapist_maria",))
    riverside = cast.clinics["riverside"]
    only_rule(riverside, RuleKind.SUPPORTER_DIGEST)
    send_message(
        alex,
        sender=cast["patient_alex"],
        body="I could not sleep again.",
        client_id=uuid.uuid4(),
        now=NINE_NY - timedelta(hours=20),
    )
    eight_ny = NINE_NY - timedelta(hours=1)
    assert decisions.send_digests(eight_ny - timedelta(minutes=5)) == 0
    assert decisions.send_digests(eight_ny) == 1
    assert decisions.send_digests(eight_ny + timedelta(minutes=5)) == 0
    deliveries = Delivery.objects.filter(template=RuleKind.SUPPORTER_DIGEST)
    assert {d.recipient_id for d in deliveries} == {cast["therapist_maria"].pk}
    context = deliveries[0].context
    assert context["counts"] == {"messages": 1, "questionnaires": 0, "alerts": 0}
    assert "Alex" not in str(context)
    message = render(deliveries[0])
    assert "Alex" not in message.subject + message.text + message.short
    assert "Patients waiting for your reply: 1" in message.text
    assert DecisionPoint.objects.count() == 0


def test_an_unavailable_decision_leaves_the_spell_open_for_the_next_day(cast: Any) -> None:
    """Inactivity is decided once per spell; but if the patient was not available (here:
    today's one nudge already went out), the next day decides again."""
    enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 0))
    riverside = cast.clinics["riverside"]
    rules.ensure_default_rules(riverside)
    only_rule(riverside, RuleKind.INACTIVITY, inactivity_days=3)
    only_rule(riverside, RuleKind.EXERCISE_TODAY)  # switches the others off
    ReminderRule.objects.filter(kind=RuleKind.INACTIVITY).update(enabled=True)
    five_pm = datetime(2026, 3, 5, 22, 0, tzinfo=UTC)  # Thursday 17:00 in New York
    decisions.evaluate_rules(five_pm - timedelta(hours=8), draws=seeded())  # 09:00 exercise
    decisions.evaluate_rules(five_pm, draws=seeded())
    decisions.evaluate_rules(five_pm + timedelta(minutes=5), draws=seeded())
    idle = DecisionPoint.objects.filter(rule__kind=RuleKind.INACTIVITY)
    assert list(idle.values_list("available", "unavailable_reason")) == [(False, "daily_cap")]
    ReminderRule.objects.filter(kind=RuleKind.EXERCISE_TODAY).update(enabled=False)
    decisions.evaluate_rules(five_pm + timedelta(days=1), draws=seeded())
    decisions.evaluate_rules(five_pm + timedelta(days=2), draws=seeded())
    assert list(idle.order_by("decided_at").values_list("period", "available")) == [
        ("idle:20260302T140000Z/2026-03-05", False),
        ("idle:20260302T140000Z/2026-03-06", True),
    ]


def _statements_to_decide(cast: Any, patients: int, prefix: str) -> tuple[int, int]:
    riverside = cast.clinics["riverside"]
    for enrollment in more_patients(riverside, patients, prefix=prefix):
        prefer(enrollment.patient, reminder_time=time(9, 0), reminder_channels=["in_app", "email"])
    with CaptureQueriesContext(connection) as statements:
        made = decisions.evaluate_rules(NINE_NY, draws=seeded(), enrollment_ids=None)
    sent = sum(d.action == Action.SEND for d in made.decisions)
    return len(statements), sent


def test_deciding_costs_the_same_few_statements_per_patient(cast: Any) -> None:
    """Preferences, the clinic's limits, consents and blocks are read for a slice of due
    patients at once; each decision then writes its point and its deliveries and counts
    the caps (the rules' budget: thousands of patients sharing one reminder time)."""
    only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    few, sent_few = _statements_to_decide(cast, 2, "few")
    DecisionPoint.objects.all().delete()
    Delivery.objects.all().delete()
    many, sent_many = _statements_to_decide(cast, 6, "many")
    assert (sent_few, sent_many) == (2, 8)  # the first two are due again, with six more
    per_decision = (many - few) / (sent_many - sent_few)
    # The caps counted twice (when deciding, and for the moment it will go), the point,
    # the patient's row lock, the check for a nudge already queued, one insert of its two
    # deliveries, and the savepoints a test's transaction turns BEGIN and COMMIT into.
    assert per_decision <= 12
