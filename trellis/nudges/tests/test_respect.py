"""The arithmetic of respect without a database: allowed and quiet hours in the patient's
zone across the daylight-saving weeks of New York and Helsinki, caps, and retry backoff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from trellis.nudges import respect
from trellis.nudges.respect import Hours

NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


# Windows ------------------------------------------------------------------------------


def test_a_window_holds_its_start_and_not_its_end() -> None:
    assert respect.in_window(time(8), time(8), time(21))
    assert not respect.in_window(time(21), time(8), time(21))
    assert not respect.in_window(time(7, 59), time(8), time(21))


def test_quiet_hours_wrap_past_midnight() -> None:
    assert respect.in_window(time(23), time(22), time(7))
    assert respect.in_window(time(3), time(22), time(7))
    assert not respect.in_window(time(7), time(22), time(7))
    assert not respect.in_window(time(12), time(22), time(7))


def test_a_window_that_starts_where_it_ends_is_empty() -> None:
    assert not respect.in_window(time(9), time(9), time(9))


def test_quiet_hours_come_before_allowed_hours_as_the_reason() -> None:
    hours = Hours(zone=NEW_YORK, quiet_start=time(20), quiet_end=time(9))
    assert hours.why_not(local(NEW_YORK, 2026, 3, 3, 8, 30)) == "quiet_hours"
    assert hours.why_not(local(NEW_YORK, 2026, 3, 3, 6, 0)) == "quiet_hours"
    assert hours.why_not(local(NEW_YORK, 2026, 3, 3, 9, 0)) == ""
    plain = Hours(zone=NEW_YORK)
    assert plain.why_not(local(NEW_YORK, 2026, 3, 3, 7, 0)) == "outside_allowed_hours"
    assert plain.why_not(local(NEW_YORK, 2026, 3, 3, 21, 0)) == "outside_allowed_hours"


def test_hours_are_read_in_the_persons_zone_not_utc() -> None:
    hours = Hours(zone=HELSINKI)
    # 06:30 UTC is 08:30 in Helsinki in winter: allowed there, though 06:30 is not.
    assert hours.allows(datetime(2026, 1, 15, 6, 30, tzinfo=UTC))
    assert not Hours(zone=NEW_YORK).allows(datetime(2026, 1, 15, 6, 30, tzinfo=UTC))


# Next allowed moment ------------------------------------------------------------------


def test_an_allowed_moment_is_its_own_next_allowed() -> None:
    moment = local(NEW_YORK, 2026, 3, 3, 12, 0)
    assert Hours(zone=NEW_YORK).next_allowed(moment) == moment


def test_a_nudge_in_quiet_hours_waits_for_them_to_end() -> None:
    hours = Hours(zone=NEW_YORK, quiet_start=time(22), quiet_end=time(9, 30))
    assert hours.next_allowed(local(NEW_YORK, 2026, 3, 3, 23, 15)) == local(
        NEW_YORK, 2026, 3, 4, 9, 30
    )
    assert hours.next_allowed(local(NEW_YORK, 2026, 3, 4, 8, 0)) == local(
        NEW_YORK, 2026, 3, 4, 9, 30
    )


def test_before_allowed_hours_a_nudge_waits_for_them_to_open() -> None:
    hours = Hours(zone=NEW_YORK)
    assert hours.next_allowed(local(NEW_YORK, 2026, 3, 3, 6, 0)) == local(
        NEW_YORK, 2026, 3, 3, 8, 0
    )
    assert hours.next_allowed(local(NEW_YORK, 2026, 3, 3, 21, 30)) == local(
        NEW_YORK, 2026, 3, 4, 8, 0
    )


def test_quiet_hours_ending_before_allowed_hours_wait_for_the_later_of_the_two() -> None:
    hours = Hours(zone=HELSINKI, quiet_start=time(23), quiet_end=time(6))
    assert hours.next_allowed(local(HELSINKI, 2026, 5, 5, 23, 30)) == local(
        HELSINKI, 2026, 5, 6, 8, 0
    )


def test_hours_that_leave_no_time_at_all_give_none() -> None:
    hours = Hours(zone=NEW_YORK, quiet_start=time(7), quiet_end=time(22))
    assert hours.next_allowed(local(NEW_YORK, 2026, 3, 3, 12, 0)) is None


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Hours(zone=NEW_YORK).next_allowed(datetime(2026, 3, 3, 12, 0))


# Daylight saving: New York 2026-03-08 (spring) and 2026-11-01 (autumn); Helsinki
# 2026-03-29 and 2026-10-25.


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (NEW_YORK, (2026, 3, 8)),
        (NEW_YORK, (2026, 11, 1)),
        (HELSINKI, (2026, 3, 29)),
        (HELSINKI, (2026, 10, 25)),
    ],
)
def test_quiet_hours_end_on_the_local_clock_on_a_daylight_saving_day(
    zone: ZoneInfo, day: tuple[int, int, int]
) -> None:
    hours = Hours(zone=zone, quiet_start=time(22), quiet_end=time(9))
    night_before = local(zone, day[0], day[1], day[2], 1, 30) - timedelta(hours=3)
    opened = hours.next_allowed(night_before)
    assert opened is not None
    assert opened.astimezone(zone).replace(tzinfo=None) == datetime(*day, 9, 0)


def test_new_york_spring_forward_a_quiet_end_in_the_skipped_hour_opens_at_3() -> None:
    # On 2026-03-08 New York's clocks jump from 02:00 to 03:00; quiet hours ending at 02:30
    # and allowed hours from midnight open at the first real minute, 03:00 EDT.
    hours = Hours(
        zone=NEW_YORK,
        allowed_from=time(0, 0),
        allowed_until=time(23, 59),
        quiet_start=time(23, 0),
        quiet_end=time(2, 30),
    )
    opened = hours.next_allowed(local(NEW_YORK, 2026, 3, 7, 23, 30))
    assert opened == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT = 02:30 EST + 1h
    assert opened is not None and opened.astimezone(NEW_YORK).hour == 3


def test_helsinki_autumn_back_the_repeated_hour_is_quiet_both_times() -> None:
    # On 2026-10-25 Helsinki's 03:00-04:00 happens twice; quiet until 04:00 covers both.
    hours = Hours(
        zone=HELSINKI,
        allowed_from=time(0, 0),
        allowed_until=time(23, 59),
        quiet_start=time(1, 0),
        quiet_end=time(4, 0),
    )
    first = local(HELSINKI, 2026, 10, 25, 3, 30, fold=0)
    second = local(HELSINKI, 2026, 10, 25, 3, 30, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert hours.why_not(first) == "quiet_hours"
    assert hours.why_not(second) == "quiet_hours"
    assert hours.next_allowed(first) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)


def test_allowed_hours_open_at_8_local_on_both_sides_of_the_new_york_change() -> None:
    hours = Hours(zone=NEW_YORK)
    saturday = hours.next_allowed(local(NEW_YORK, 2026, 3, 7, 6, 0))
    sunday = hours.next_allowed(local(NEW_YORK, 2026, 3, 8, 6, 0))
    assert saturday == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)  # EST, UTC-5
    assert sunday == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # EDT, UTC-4


# Local days and weeks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        (NEW_YORK, (2026, 3, 8), 23),
        (NEW_YORK, (2026, 11, 1), 25),
        (HELSINKI, (2026, 3, 29), 23),
        (HELSINKI, (2026, 10, 25), 25),
        (HELSINKI, (2026, 6, 10), 24),
    ],
)
def test_a_local_day_is_23_or_25_hours_on_a_change(
    zone: ZoneInfo, day: tuple[int, int, int], length: int
) -> None:
    start, end = respect.local_day_bounds(local(zone, *day, 12, 0), zone)
    assert start.astimezone(zone).replace(tzinfo=None) == datetime(*day)
    assert end - start == timedelta(hours=length)


def test_the_local_week_runs_monday_to_monday_in_the_persons_zone() -> None:
    # Wednesday 2026-03-11 in New York; the week began Monday 2026-03-09 (EDT).
    start, end = respect.local_week_bounds(local(NEW_YORK, 2026, 3, 11, 10, 0), NEW_YORK)
    assert start == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 16, 4, 0, tzinfo=UTC)
    # The week holding the change (Mon 2 March EST to Mon 9 March EDT) is an hour short.
    start, end = respect.local_week_bounds(local(NEW_YORK, 2026, 3, 8, 10, 0), NEW_YORK)
    assert end - start == timedelta(days=7) - timedelta(hours=1)


def test_a_late_evening_in_helsinki_belongs_to_its_local_day_not_utcs() -> None:
    moment = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # Sunday 01:30 in Helsinki (EEST)
    start, _end = respect.local_day_bounds(moment, HELSINKI)
    assert start.astimezone(HELSINKI).date().isoformat() == "2026-10-25"


# Caps ---------------------------------------------------------------------------------


def test_caps_allow_until_the_daily_then_the_weekly_cap_is_full() -> None:
    assert respect.cap_reached(today=0, this_week=3, daily_cap=1, weekly_cap=4) == ""
    assert respect.cap_reached(today=1, this_week=1, daily_cap=1, weekly_cap=4) == "daily_cap"
    assert respect.cap_reached(today=0, this_week=4, daily_cap=1, weekly_cap=4) == "weekly_cap"
    assert respect.cap_reached(today=1, this_week=2, daily_cap=2, weekly_cap=4) == ""


# Backoff ------------------------------------------------------------------------------


def test_backoff_doubles_from_a_minute_and_stops_at_six_hours() -> None:
    delays = [respect.backoff(n, key="k") for n in range(1, 6)]
    for n, delay in enumerate(delays, start=1):
        base = timedelta(minutes=2 ** (n - 1))
        assert base <= delay <= base * 1.1
    assert timedelta(hours=6) <= respect.backoff(30, key="k") <= timedelta(hours=6.6)


def test_backoff_spreads_deliveries_apart_but_is_fixed_per_delivery() -> None:
    assert respect.backoff(3, key="a") == respect.backoff(3, key="a")
    spread = {respect.backoff(3, key=f"d{i}") for i in range(20)}
    assert len(spread) > 10


def test_backoff_is_only_for_a_tried_delivery() -> None:
    with pytest.raises(ValueError):
        respect.backoff(0)


def test_a_providers_retry_after_wins_when_it_is_longer() -> None:
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert respect.next_attempt(now, 1, retry_after=600, key="k") == now + timedelta(minutes=10)
    short = respect.next_attempt(now, 3, retry_after=1, key="k")
    assert short == now + respect.backoff(3, key="k")


def test_attempts_run_out_at_the_maximum() -> None:
    assert not respect.out_of_attempts(respect.MAX_ATTEMPTS - 1)
    assert respect.out_of_attempts(respect.MAX_ATTEMPTS)
