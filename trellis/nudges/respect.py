"""The pure arithmetic of respect: allowed hours, quiet hours, caps and retry backoff.

No database here: everything takes plain values (wall-clock times, a zone, counts, `now`)
and is tested on its own, across the daylight-saving changes of New York and Helsinki.

Hours are wall-clock times in the person's own zone. A window [start, end) may wrap past
midnight (quiet hours 22:00-07:00); start == end means an empty window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from trellis.core import timeutil

DEFAULT_ALLOWED = (time(8, 0), time(21, 0))
DEFAULT_DAILY_CAP = 1
DEFAULT_WEEKLY_CAP = 4

# Retries: 1 minute, 2, 4, 8 ... capped at 6 hours, at most MAX_ATTEMPTS sends in all.
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)


def in_window(clock: time, start: time, end: time) -> bool:
    """Whether a wall-clock time falls in [start, end), the window wrapping past midnight
    when it ends before it starts."""
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


@dataclass(frozen=True)
class Hours:
    """When a person may be reached: the clinic's allowed hours minus their quiet hours."""

    zone: ZoneInfo
    allowed_from: time = DEFAULT_ALLOWED[0]
    allowed_until: time = DEFAULT_ALLOWED[1]
    quiet_start: time | None = None
    quiet_end: time | None = None

    @property
    def has_quiet(self) -> bool:
        return (
            self.quiet_start is not None
            and self.quiet_end is not None
            and self.quiet_start != self.quiet_end
        )

    def why_not(self, moment: datetime) -> str:
        """Blank when `moment` is a time this person may be reached, else the reason."""
        clock = timeutil.ensure_aware(moment).astimezone(self.zone).time()
        start, end = self.quiet_start, self.quiet_end
        if start is not None and end is not None and in_window(clock, start, end):
            return "quiet_hours"
        if not in_window(clock, self.allowed_from, self.allowed_until):
            return "outside_allowed_hours"
        return ""

    def allows(self, moment: datetime) -> bool:
        return not self.why_not(moment)

    def next_allowed(self, moment: datetime) -> datetime | None:
        """The first instant at or after `moment` when the person may be reached, or None
        if the allowed hours and the quiet hours leave no time at all.

        Candidates are the instants where a window opens (allowed hours start, quiet hours
        end) on the local days around `moment`, each placed on the real clock of that day:
        a wall time skipped by a spring-forward jump opens at the first real minute after
        it, an ambiguous autumn one at its first occurrence.
        """
        moment = timeutil.ensure_aware(moment).astimezone(timeutil.UTC)
        if self.allows(moment):
            return moment
        day = moment.astimezone(self.zone).date()
        openings = [self.allowed_from]
        if self.has_quiet and self.quiet_end is not None:
            openings.append(self.quiet_end)
        candidates = sorted(
            at
            for offset in range(-1, 3)
            for clock in openings
            for at in [_at(day + timedelta(days=offset), clock, self.zone)]
            if at > moment
        )
        for candidate in candidates:
            if self.allows(candidate):
                return candidate
        return None


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The instant, in UTC (aware datetimes sharing a zone compare and subtract by their
    wall clocks, which is wrong across a daylight-saving change)."""
    return timeutil.at_local_time(day, clock, zone.key).astimezone(timeutil.UTC)


def local_day_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the person's local calendar day holding `moment` (23 or 25 hours
    long on a daylight-saving change)."""
    day = timeutil.ensure_aware(moment).astimezone(zone).date()
    return _at(day, time(0), zone), _at(day + timedelta(days=1), time(0), zone)


def local_week_bounds(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the person's local week (Monday to Sunday) holding `moment`."""
    day = timeutil.ensure_aware(moment).astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())
    return _at(monday, time(0), zone), _at(monday + timedelta(days=7), time(0), zone)


def cap_reached(*, today: int, this_week: int, daily_cap: int, weekly_cap: int) -> str:
    """Blank if one more nudge fits under the caps, else which cap is full."""
    if today >= daily_cap:
        return "daily_cap"
    if this_week >= weekly_cap:
        return "weekly_cap"
    return ""


def backoff(attempts: int, *, key: str = "") -> timedelta:
    """How long to wait after the `attempts`-th failed try: doubling from one minute up to
    six hours, plus up to a tenth more, fixed by `key`, so that many deliveries failing
    together (a provider outage) do not all come back in the same second."""
    if attempts < 1:
        raise ValueError("backoff is for a delivery that has been tried at least once")
    delay = min(BACKOFF_BASE * 2 ** min(attempts - 1, 20), BACKOFF_CAP)
    spread = int(hashlib.sha256(f"{key}:{attempts}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return delay + delay * 0.1 * spread


def next_attempt(
    now: datetime, attempts: int, *, retry_after: float | None = None, key: str = ""
) -> datetime:
    """When to try again after `attempts` tries: the backoff, or the provider's own
    Retry-After when that is longer."""
    delay = backoff(attempts, key=key)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, timedelta(seconds=min(retry_after, 7 * 24 * 3600)))
    return timeutil.ensure_aware(now) + delay


def out_of_attempts(attempts: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    return attempts >= max_attempts
