"""Turning a supporter's weekly availability into concrete session start times.

Pure: no database, no clock. A weekly slot is a wall-clock window in the supporter's
own time zone ("Tuesdays 09:00 to 12:00, Europe/Helsinki, 30-minute sessions"); this
module lists the instants when a session may start in a date range.

Decisions:
- Sessions start at the slot's start and follow each other back to back; a session
  that would run past the slot's end is not offered.
- Times are wall-clock times in the slot's zone, so "09:00" stays 09:00 for the
  supporter across a daylight-saving change (its UTC instant moves by an hour).
- A wall time that does not exist that day (clocks jump forward) is not offered. A wall
  time that happens twice (clocks go back) is offered once, at its first occurrence.
- An exception without times closes the whole day; with times, it closes any session
  that overlaps it. Exception times are read in the slot's zone.
- A session overlapping one already booked is not offered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from trellis.core import timeutil

UTC = timeutil.UTC


@dataclass(frozen=True)
class Weekly:
    """A recurring weekly window (weekday 0 is Monday)."""

    weekday: int
    start: time
    end: time
    minutes: int
    time_zone: str
    valid_from: date
    valid_until: date | None = None
    mode: str = ""


@dataclass(frozen=True)
class Closed:
    """A day, or part of a day when `start` and `end` are given, with no sessions."""

    day: date
    start: time | None = None
    end: time | None = None


@dataclass(frozen=True)
class Opening:
    """A session that may be booked: its start and end (UTC) and the slot's mode, if any."""

    starts_at: datetime
    ends_at: datetime
    mode: str = ""


def _exists(naive: datetime, tz_name: str) -> datetime | None:
    """The aware first occurrence of a wall time, or None if the clocks skip it."""
    tz = timeutil.zone(tz_name)
    aware = naive.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware


def _closed_at(closures: list[Closed], begins: datetime, ends: datetime) -> bool:
    """Whether a session from `begins` to `ends` (naive wall times) meets a closure."""
    for closed in closures:
        if closed.start is None or closed.end is None:
            return True
        window_start = datetime.combine(closed.day, closed.start)
        window_end = datetime.combine(closed.day, closed.end)
        if begins < window_end and window_start < ends:
            return True
    return False


def _sessions_on(slot: Weekly, day: date) -> Iterable[tuple[datetime, datetime]]:
    """(start, end) wall times of the sessions the slot holds on one local day."""
    step = timedelta(minutes=slot.minutes)
    begins = datetime.combine(day, slot.start)
    window_end = datetime.combine(day, slot.end)
    while begins + step <= window_end:
        yield begins, begins + step
        begins += step


def expand(
    weekly: Iterable[Weekly],
    closed: Iterable[Closed] = (),
    *,
    start: datetime,
    end: datetime,
    booked: Iterable[tuple[datetime, datetime]] = (),
) -> list[Opening]:
    """Every session that may start in [start, end), earliest first, without repeats.

    `booked` holds (start, end) of sessions already booked with this supporter.
    """
    timeutil.ensure_aware(start)
    timeutil.ensure_aware(end)
    if minutes_invalid := [s for s in weekly if s.minutes <= 0]:
        raise ValueError(f"a session must last at least a minute: {minutes_invalid[0]}")
    taken = [(b.astimezone(UTC), e.astimezone(UTC)) for b, e in booked]
    closures: dict[date, list[Closed]] = {}
    for c in closed:
        closures.setdefault(c.day, []).append(c)
    found: dict[datetime, Opening] = {}
    for slot in weekly:
        first = start.astimezone(timeutil.zone(slot.time_zone)).date() - timedelta(days=1)
        last = end.astimezone(timeutil.zone(slot.time_zone)).date()
        day = first
        while day <= last:
            if (
                day.weekday() == slot.weekday
                and day >= slot.valid_from
                and (slot.valid_until is None or day <= slot.valid_until)
            ):
                for begins, ends in _sessions_on(slot, day):
                    if _closed_at(closures.get(day, []), begins, ends):
                        continue
                    local = _exists(begins, slot.time_zone)
                    if local is None:
                        continue
                    at = local.astimezone(UTC)
                    until = at + timedelta(minutes=slot.minutes)
                    if not (start <= at < end) or at in found:
                        continue
                    if any(at < e and b < until for b, e in taken):
                        continue
                    found[at] = Opening(starts_at=at, ends_at=until, mode=slot.mode)
            day += timedelta(days=1)
    return [found[at] for at in sorted(found)]
