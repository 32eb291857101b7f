"""Aware-datetime helpers. Logic takes `now` as an argument; only edges read the clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

UTC = ZoneInfo("UTC")

# The calendar days anyone may type: wide enough for every real date in a clinic's life,
# narrow enough that arithmetic on them (the day after, a week later, a local midnight in
# any zone) can never overflow, as it does near year 9999.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
DAY_RANGE_MESSAGE = _("Enter a date between 1900-01-01 and 2199-12-31.")


def day_in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def validate_day(value: date | datetime) -> None:
    """Form validator for typed dates and date-times: refuses days outside the range."""
    day = value.date() if isinstance(value, datetime) else value
    if not day_in_range(day):
        raise ValidationError(DAY_RANGE_MESSAGE, code="date_out_of_range")


def now() -> datetime:
    """The current time, aware, in UTC. Call this at the edge and pass the value in."""
    return timezone.now()


def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name; raises ValueError with a readable message if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Unknown time zone {name!r}; use an IANA name such as Europe/Helsinki"
        ) from None


def is_valid_zone(name: str) -> bool:
    try:
        zone(name)
    except ValueError:
        return False
    return True


def ensure_aware(value: datetime) -> datetime:
    """Refuse naive datetimes instead of guessing their zone."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("a naive datetime was given where an aware one is required")
    return value


def local_date(moment: datetime, tz_name: str) -> date:
    """The calendar date of `moment` for someone living in `tz_name`."""
    return ensure_aware(moment).astimezone(zone(tz_name)).date()


def at_local_time(day: date, clock_time: time, tz_name: str) -> datetime:
    """The aware instant when the wall clock in `tz_name` shows `clock_time` on `day`.

    A wall time skipped by a daylight-saving jump moves forward by the gap; an
    ambiguous one (clocks going back) takes the first occurrence.
    """
    tz = zone(tz_name)
    naive = datetime.combine(day, clock_time)
    candidate = naive.replace(tzinfo=tz, fold=0)
    round_trip = candidate.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:  # the wall time does not exist on that day
        shifted = candidate.astimezone(UTC)
        return shifted.astimezone(tz)
    return candidate


def start_of_local_day(moment: datetime, tz_name: str) -> datetime:
    return at_local_time(local_date(moment, tz_name), time(0, 0), tz_name)


def floor_to_period(moment: datetime, period: timedelta) -> datetime:
    """The start of the fixed-length period (counted from the Unix epoch, UTC) holding `moment`."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    seconds = int(period.total_seconds())
    if seconds <= 0:
        raise ValueError("a period must be positive")
    elapsed = int((ensure_aware(moment) - epoch).total_seconds())
    return epoch + timedelta(seconds=elapsed - elapsed % seconds)
