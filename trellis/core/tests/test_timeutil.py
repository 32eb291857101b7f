from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trellis.core import timeutil

UTC = timeutil.UTC


def test_local_time_on_the_day_new_york_springs_forward_skips_the_missing_hour():
    # 2026-03-08 02:30 does not exist in New York; the instant is 03:30 EDT.
    moment = timeutil.at_local_time(date(2026, 3, 8), time(2, 30), "America/New_York")
    assert moment.astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert moment.astimezone(timeutil.zone("America/New_York")).hour == 3


def test_local_time_on_the_day_helsinki_falls_back_takes_the_first_occurrence():
    # 2026-10-25 03:30 happens twice in Helsinki; the first is still EEST (UTC+3).
    moment = timeutil.at_local_time(date(2026, 10, 25), time(3, 30), "Europe/Helsinki")
    assert moment.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_nine_in_the_morning_stays_nine_across_a_dst_change():
    before = timeutil.at_local_time(date(2026, 3, 7), time(9, 0), "America/New_York")
    after = timeutil.at_local_time(date(2026, 3, 9), time(9, 0), "America/New_York")
    # Subtract in UTC: Python subtracts wall clocks when both sides share a zone.
    assert after.astimezone(UTC) - before.astimezone(UTC) == timedelta(days=2, hours=-1)
    assert (before.hour, after.hour) == (9, 9)


def test_local_date_uses_the_persons_zone():
    moment = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert timeutil.local_date(moment, "Europe/Helsinki") == date(2026, 11, 23)
    assert timeutil.local_date(moment, "America/New_York") == date(2026, 11, 22)


def test_unknown_zone_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown time zone"):
        timeutil.zone("Mars/Olympus")
    assert not timeutil.is_valid_zone("Not/AZone")


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        timeutil.local_date(datetime(2026, 1, 1, 12, 0), "UTC")


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=7 * 24 * 3600),
)
def test_floor_to_period_is_the_start_of_the_period_holding_the_moment(moment, seconds):
    period = timedelta(seconds=seconds)
    start = timeutil.floor_to_period(moment, period)
    assert start <= moment < start + period
    assert timeutil.floor_to_period(start, period) == start
