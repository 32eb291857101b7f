"""Questionnaire windows stay at 09:00 on the patient's own clock, across daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from trellis.measures.schedules import (
    DEFAULT_WEEKS,
    Planned,
    local_instant,
    plan,
    program_weeks,
)

NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")
NINE = time(9, 0)


def by_key(planned: list[Planned]) -> dict[tuple[str, str, int], Planned]:
    return {(p.instrument, p.occasion, p.sequence): p for p in planned}


def test_baseline_and_ehealth_are_due_at_once_and_overdue_after_three_days() -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
    planned = by_key(plan(start, NEW_YORK))
    for key in (("eHEALS", "onboarding", 0), ("PHQ-9", "baseline", 0), ("GAD-7", "baseline", 0)):
        assert planned[key].due_from == start
        assert planned[key].overdue_after == start + timedelta(days=3)


def test_the_full_default_plan() -> None:
    start = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    planned = plan(start, NEW_YORK)
    occasions = [(p.occasion, p.sequence) for p in planned if p.instrument == "PHQ-9"]
    assert occasions == [
        ("baseline", 0),
        *[("weekly", week) for week in range(1, DEFAULT_WEEKS)],
        ("end", DEFAULT_WEEKS),
        ("follow_up", 0),
    ]
    end = by_key(planned)[("PHQ-9", "end", DEFAULT_WEEKS)]
    follow_up = by_key(planned)[("GAD-7", "follow_up", 0)]
    assert end.due_from.astimezone(NEW_YORK).date().isoformat() == "2026-03-02"
    assert follow_up.due_from.astimezone(NEW_YORK).date().isoformat() == "2026-05-31"  # +90 days
    assert follow_up.due_from.astimezone(NEW_YORK).time() == NINE


def test_the_program_length_comes_from_its_intended_use() -> None:
    assert program_weeks({"weeks": 6, "exercises_per_week": 3}) == 6
    assert program_weeks({}) == DEFAULT_WEEKS
    assert program_weeks({"weeks": "six"}) == DEFAULT_WEEKS
    start = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    planned = plan(start, NEW_YORK, weeks=2)
    assert [(p.occasion, p.sequence) for p in planned if p.instrument == "GAD-7"] == [
        ("baseline", 0),
        ("weekly", 1),
        ("end", 2),
        ("follow_up", 0),
    ]


def test_new_york_spring_forward_week_keeps_nine_oclock() -> None:
    # Clocks go forward on Sunday 2026-03-08. Week 1 (Monday 9 March) is due at 09:00 EDT.
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 10:00 EST
    planned = by_key(plan(start, NEW_YORK))
    week1, week2 = planned[("PHQ-9", "weekly", 1)], planned[("PHQ-9", "weekly", 2)]
    assert week1.due_from == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 09:00 EDT (UTC-4)
    assert week1.due_from.astimezone(NEW_YORK).time() == NINE
    assert week1.overdue_after == datetime(2026, 3, 12, 13, 0, tzinfo=UTC)
    assert week1.closes_at == week2.due_from
    # The baseline's window crosses the change: it closes at 10:00 local, 167 hours later.
    baseline = planned[("PHQ-9", "baseline", 0)]
    assert baseline.closes_at.astimezone(NEW_YORK).time() == time(10, 0)
    assert baseline.closes_at - baseline.due_from == timedelta(hours=167)


def test_a_weekly_window_that_crosses_the_change_is_short_by_an_hour() -> None:
    start = datetime(2026, 2, 27, 15, 0, tzinfo=UTC)  # Friday 10:00 EST
    week1 = by_key(plan(start, NEW_YORK))[("GAD-7", "weekly", 1)]
    # Due Friday 6 March 09:00 EST, overdue Monday 9 March 09:00 EDT.
    assert week1.due_from == datetime(2026, 3, 6, 14, 0, tzinfo=UTC)
    assert week1.overdue_after == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert week1.overdue_after - week1.due_from == timedelta(hours=71)
    assert week1.closes_at - week1.due_from == timedelta(hours=167)


def test_helsinki_spring_forward_week_is_167_hours_long() -> None:
    # Clocks go forward on Sunday 2026-03-29 (03:00 EET -> 04:00 EEST).
    start = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 10:00 EET
    planned = by_key(plan(start, HELSINKI))
    week1, week2 = planned[("PHQ-9", "weekly", 1)], planned[("PHQ-9", "weekly", 2)]
    assert week1.due_from == datetime(2026, 3, 23, 7, 0, tzinfo=UTC)  # 09:00 EET (UTC+2)
    assert week2.due_from == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 09:00 EEST (UTC+3)
    assert week2.due_from - week1.due_from == timedelta(hours=167)
    assert week1.closes_at == week2.due_from
    assert week2.due_from.astimezone(HELSINKI).time() == NINE


def test_helsinki_fall_back_week_is_169_hours_long() -> None:
    # Clocks go back on Sunday 2026-10-25 (04:00 EEST -> 03:00 EET).
    start = datetime(2026, 10, 12, 7, 0, tzinfo=UTC)  # Monday 10:00 EEST
    planned = by_key(plan(start, HELSINKI))
    week1, week2 = planned[("GAD-7", "weekly", 1)], planned[("GAD-7", "weekly", 2)]
    assert week1.due_from == datetime(2026, 10, 19, 6, 0, tzinfo=UTC)  # 09:00 EEST
    assert week2.due_from == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # 09:00 EET
    assert week2.due_from - week1.due_from == timedelta(hours=169)
    assert week2.overdue_after.astimezone(HELSINKI).time() == NINE


def test_a_wall_time_skipped_by_spring_forward_moves_on_by_the_gap() -> None:
    skipped = local_instant(datetime(2026, 3, 8).date(), time(2, 30), NEW_YORK)
    assert skipped.astimezone(NEW_YORK).time() == time(3, 30)
    repeated = local_instant(datetime(2026, 11, 1).date(), time(1, 30), NEW_YORK)
    assert repeated == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30 (EDT)


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31)),
    st.sampled_from([NEW_YORK, HELSINKI, ZoneInfo("Australia/Sydney"), ZoneInfo("UTC")]),
    st.integers(min_value=1, max_value=16),
)
def test_every_later_window_opens_at_nine_local_and_in_order(
    naive_start: datetime, tz: ZoneInfo, weeks: int
) -> None:
    start = naive_start.replace(tzinfo=UTC)
    planned = plan(start, tz, weeks=weeks)
    for p in planned:
        assert p.due_from < p.overdue_after < p.closes_at
        if p.occasion not in ("baseline", "onboarding"):
            assert p.due_from.astimezone(tz).time() == NINE
            assert p.overdue_after.astimezone(tz).time() == NINE
            assert p.due_from > start
    weekly = sorted(p.due_from for p in planned if p.instrument == "PHQ-9")
    assert weekly == [p.due_from for p in planned if p.instrument == "PHQ-9"]
