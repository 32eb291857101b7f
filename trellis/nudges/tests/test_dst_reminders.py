"""Daylight saving: today's exercise reminder comes at the patient's own local time on
both sides of a change, in New York (the clinic's zone) and Helsinki (the patient's
chosen zone), with the clock ticking through the week of the change."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from trellis.nudges import decisions
from trellis.nudges.models import DecisionPoint, Delivery, OutreachSettings, RuleKind
from trellis.nudges.tests.decision_helpers import enroll_persona, only_rule, prefer, seeded

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.mark.parametrize(
    ("zone", "change", "own_zone"),
    [
        ("America/New_York", date(2026, 3, 8), False),
        ("America/New_York", date(2026, 11, 1), False),
        ("Europe/Helsinki", date(2026, 3, 29), True),
        ("Europe/Helsinki", date(2026, 10, 25), True),
    ],
)
def test_the_exercise_reminder_keeps_its_local_time_across_the_change(
    cast: Any, zone: str, change: date, own_zone: bool
) -> None:
    tz = ZoneInfo(zone)
    start = datetime.combine(change - timedelta(days=3), time(0), tzinfo=tz)
    enroll_persona(cast, now=start - timedelta(days=1))
    prefer(
        cast["patient_alex"],
        reminder_time=time(9, 0),
        time_zone=zone if own_zone else "",
        reminder_channels=["in_app"],
    )
    riverside = cast.clinics["riverside"]
    only_rule(riverside, RuleKind.EXERCISE_TODAY)
    OutreachSettings.objects.filter(organization=riverside).update(daily_cap=20, weekly_cap=50)
    draws = seeded()
    moment = start.astimezone(ZoneInfo("UTC"))
    end = moment + timedelta(days=6)
    while moment < end:
        decisions.evaluate_rules(moment, draws=draws)
        # Every five minutes around the reminder time, every hour otherwise.
        near = time(8, 0) <= moment.astimezone(tz).time() < time(10, 0)
        moment += timedelta(minutes=5 if near else 60)

    points = list(DecisionPoint.objects.order_by("decided_at"))
    assert [p.period for p in points] == [
        (change + timedelta(days=d)).isoformat() for d in range(-3, 3)
    ]
    assert {p.decided_at.astimezone(tz).time() for p in points} == {time(9, 0)}
    gaps = {(b.decided_at - a.decided_at).total_seconds() / 3600 for a, b in pairwise(points)}
    # The day of the change is 23 hours long in spring, 25 in autumn.
    assert gaps == {24.0, 23.0 if change.month in (3,) else 25.0}
    deliveries = Delivery.objects.filter(decision__in=points)
    assert deliveries.count() == 6
    assert {d.not_before.astimezone(tz).time() for d in deliveries} == {time(9, 0)}


def test_a_reminder_time_skipped_by_spring_forward_comes_at_the_first_real_minute(
    cast: Any,
) -> None:
    """02:30 does not exist in New York on 8 March 2026; a wish before the rule's window
    waits for the window to open, at 08:00 daylight time that day."""
    tz = ZoneInfo("America/New_York")
    enroll_persona(cast, now=datetime(2026, 3, 6, tzinfo=tz))
    prefer(cast["patient_alex"], reminder_time=time(2, 30))
    only_rule(
        cast.clinics["riverside"],
        RuleKind.EXERCISE_TODAY,
        window_from=time(8, 0),
        window_until=time(20, 0),
    )
    moment = datetime(2026, 3, 8, 0, 0, tzinfo=tz).astimezone(ZoneInfo("UTC"))
    for _ in range(12 * 10):
        decisions.evaluate_rules(moment, draws=seeded())
        moment += timedelta(minutes=5)
    [point] = DecisionPoint.objects.all()
    assert point.decided_at.astimezone(tz).time() == time(8, 0)
    assert point.decided_at.astimezone(tz).utcoffset() == timedelta(hours=-4)
