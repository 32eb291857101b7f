"""Weekly availability into session start times: wall-clock times, exceptions, bookings and
daylight-saving changes (no database)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from trellis.appointments.slots import Closed, Weekly, expand

UTC = ZoneInfo("UTC")
NEW_YORK = "America/New_York"
HELSINKI = "Europe/Helsinki"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_sunday_morning_sessions_keep_their_wall_time_across_new_york_spring_forward() -> None:
    sunday = Weekly(6, time(9, 0), time(10, 0), 30, NEW_YORK, date(2026, 1, 1))
    found = expand([sunday], start=_utc(2026, 3, 1), end=_utc(2026, 3, 9))
    assert [o.starts_at for o in found] == [
        _utc(2026, 3, 1, 14, 0),  # 09:00 EST (UTC-5)
        _utc(2026, 3, 1, 14, 30),
        _utc(2026, 3, 8, 13, 0),  # 09:00 EDT (UTC-4)
        _utc(2026, 3, 8, 13, 30),
    ]
    tz = ZoneInfo(NEW_YORK)
    assert {o.starts_at.astimezone(tz).time() for o in found} == {time(9, 0), time(9, 30)}


def test_a_wall_time_skipped_by_new_york_spring_forward_is_not_offered() -> None:
    night = Weekly(6, time(1, 0), time(4, 0), 60, NEW_YORK, date(2026, 1, 1))
    found = expand([night], start=_utc(2026, 3, 8), end=_utc(2026, 3, 9))
    local = [o.starts_at.astimezone(ZoneInfo(NEW_YORK)).time() for o in found]
    assert local == [time(1, 0), time(3, 0)]  # 02:00 does not exist on 8 March 2026
    assert all(o.ends_at - o.starts_at == timedelta(hours=1) for o in found)


def test_helsinki_fall_back_offers_a_repeated_wall_time_once() -> None:
    night = Weekly(6, time(3, 0), time(4, 0), 30, HELSINKI, date(2026, 1, 1))
    found = expand([night], start=_utc(2026, 10, 24), end=_utc(2026, 10, 26))
    # 03:00 and 03:30 happen twice on 25 October 2026; the first (summer time, UTC+3) counts.
    assert [o.starts_at for o in found] == [_utc(2026, 10, 25, 0, 0), _utc(2026, 10, 25, 0, 30)]


def test_helsinki_afternoon_slot_moves_an_hour_in_utc_after_the_change() -> None:
    sunday = Weekly(6, time(14, 0), time(15, 0), 60, HELSINKI, date(2026, 1, 1))
    found = expand([sunday], start=_utc(2026, 10, 18), end=_utc(2026, 11, 2))
    assert [o.starts_at for o in found] == [
        _utc(2026, 10, 18, 11, 0),  # EEST, UTC+3
        _utc(2026, 10, 25, 12, 0),  # EET, UTC+2
        _utc(2026, 11, 1, 12, 0),
    ]


def test_whole_day_and_part_day_exceptions_close_sessions() -> None:
    monday = Weekly(0, time(9, 0), time(12, 0), 60, HELSINKI, date(2026, 1, 1))
    closed = [Closed(date(2026, 6, 1)), Closed(date(2026, 6, 8), time(10, 30), time(11, 0))]
    found = expand([monday], closed, start=_utc(2026, 6, 1), end=_utc(2026, 6, 9))
    local = [o.starts_at.astimezone(ZoneInfo(HELSINKI)) for o in found]
    assert [(t.date(), t.time()) for t in local] == [
        (date(2026, 6, 8), time(9, 0)),
        (date(2026, 6, 8), time(11, 0)),
    ]


def test_booked_sessions_and_validity_dates_are_respected() -> None:
    monday = Weekly(0, time(9, 0), time(11, 0), 60, "UTC", date(2026, 6, 8), date(2026, 6, 15))
    booked = [(_utc(2026, 6, 8, 9, 30), _utc(2026, 6, 8, 10, 0))]
    found = expand([monday], start=_utc(2026, 6, 1), end=_utc(2026, 7, 1), booked=booked)
    assert [o.starts_at for o in found] == [
        _utc(2026, 6, 8, 10, 0),
        _utc(2026, 6, 15, 9, 0),
        _utc(2026, 6, 15, 10, 0),
    ]


ZONES = st.sampled_from(["UTC", NEW_YORK, HELSINKI, "Australia/Sydney", "Asia/Kolkata"])


@st.composite
def weekly_slots(draw: st.DrawFn) -> Weekly:
    start_minute = draw(st.integers(0, 22 * 60))
    length = draw(st.integers(15, 24 * 60 - 1 - start_minute))
    end_minute = start_minute + length
    return Weekly(
        weekday=draw(st.integers(0, 6)),
        start=time(start_minute // 60, start_minute % 60),
        end=time(end_minute // 60, end_minute % 60),
        minutes=draw(st.sampled_from([15, 30, 45, 50, 60])),
        time_zone=draw(ZONES),
        valid_from=date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 300))),
    )


@settings(max_examples=150, deadline=None)
@given(
    slots=st.lists(weekly_slots(), min_size=1, max_size=3),
    closed_days=st.lists(st.integers(0, 40), max_size=4),
    first_day=st.integers(0, 330),
    span=st.integers(1, 40),
)
def test_every_opening_lies_inside_a_slot_window_in_the_range_and_outside_exceptions(
    slots: list[Weekly], closed_days: list[int], first_day: int, span: int
) -> None:
    start = _utc(2026, 1, 1) + timedelta(days=first_day, hours=7)
    end = start + timedelta(days=span)
    closed = [Closed(start.date() + timedelta(days=d)) for d in closed_days]
    closed_dates = {c.day for c in closed}
    found = expand(slots, closed, start=start, end=end)
    starts = [o.starts_at for o in found]
    assert starts == sorted(set(starts))
    for opening in found:
        assert start <= opening.starts_at < end
        fits = False
        for slot in slots:
            local = opening.starts_at.astimezone(ZoneInfo(slot.time_zone))
            wall_end = datetime.combine(local.date(), local.time()) + timedelta(
                minutes=slot.minutes
            )
            if (
                local.weekday() == slot.weekday
                and local.date() >= slot.valid_from
                and local.date() not in closed_dates
                and slot.start <= local.time()
                and wall_end <= datetime.combine(local.date(), slot.end)
                and (local.hour * 60 + local.minute - slot.start.hour * 60 - slot.start.minute)
                % slot.minutes
                == 0
            ):
                fits = True
        assert fits, opening


@settings(max_examples=80, deadline=None)
@given(slot=weekly_slots(), first_day=st.integers(0, 330))
def test_booking_an_opening_removes_exactly_the_overlapping_ones(
    slot: Weekly, first_day: int
) -> None:
    start = _utc(2026, 1, 1) + timedelta(days=first_day)
    end = start + timedelta(days=14)
    found = expand([slot], start=start, end=end)
    if not found:
        return
    taken = found[len(found) // 2]
    after = expand([slot], start=start, end=end, booked=[(taken.starts_at, taken.ends_at)])
    assert taken not in after
    assert set(after) <= set(found)
    for opening in set(found) - set(after):
        assert opening.starts_at < taken.ends_at and taken.starts_at < opening.ends_at
