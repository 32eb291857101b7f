"""When questionnaires are due: pure planning, no database.

For an enrollment starting at `start` (an instant) for a patient living in `tz`:

- Getting started: eHEALS, and the baseline PHQ-9 and GAD-7, due at once, overdue after
  3 days, closing after 7.
- Weekly: PHQ-9 and GAD-7 in weeks 1 .. weeks-1, due from 09:00 local time on the same
  weekday as the start, overdue 3 days later (09:00), closing 7 days later (09:00, when
  the next week's opens).
- End of the program (week `weeks`, the program's intended length): PHQ-9 and GAD-7, due
  09:00 local time, overdue after 3 days, closing after 14.
- Three-month follow-up: 90 days after the end's due date, 09:00 local time, overdue
  after 7 days, closing after 28.

Every window is computed on the local calendar and converted to an instant only at the
end, so 09:00 stays 09:00 across daylight-saving changes (a week with a change is 167
or 169 hours long).

One answer per window: whatever asks for a questionnaire (the weekly schedule, or a
questionnaire step of any of the patient's programs), an instrument answered fewer than
`repeat_window_days(code)` calendar days before is not asked again. The window is the
schedule's interval for an instrument asked weekly (PHQ-9 and GAD-7: 7 days, so the weekly
measure that outcomes and deterioration alerts rely on keeps its pace, although both ask
about the last 2 weeks), and the instrument's recall period otherwise (2 weeks). The
getting-started questionnaires, the baseline, the end-of-program and follow-up measures
are fixed points of an enrollment and always asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_WEEKS = 8
MAX_WEEKS = 104
WEEKLY_INSTRUMENTS = ("PHQ-9", "GAD-7")
ONBOARDING_INSTRUMENTS = ("eHEALS",)
DUE_TIME = time(9, 0)
OVERDUE_DAYS = 3
WEEKLY_CLOSE_DAYS = 7
END_CLOSE_DAYS = 14
FOLLOW_UP_DAYS = 90
FOLLOW_UP_OVERDUE_DAYS = 7
FOLLOW_UP_CLOSE_DAYS = 28

WEEKLY_INTERVAL_DAYS = 7
RECALL_DAYS = 14  # "Over the last 2 weeks" (PHQ-9, GAD-7 and their short forms)

BASELINE, WEEKLY, END, FOLLOW_UP, ONBOARDING = (
    "baseline",
    "weekly",
    "end",
    "follow_up",
    "onboarding",
)


@dataclass(frozen=True)
class Planned:
    """One questionnaire to ask, with its window (aware instants)."""

    instrument: str
    occasion: str
    sequence: int
    due_from: datetime
    overdue_after: datetime
    closes_at: datetime


def repeat_window_days(code: str) -> int:
    """Calendar days in which one answer to this instrument stands for any other request."""
    return WEEKLY_INTERVAL_DAYS if code in WEEKLY_INSTRUMENTS else RECALL_DAYS


def answer_stands(answered_at: datetime, asked_at: datetime, code: str, tz: ZoneInfo) -> bool:
    """Whether an answer given at `answered_at` stands for a request made at `asked_at`:
    given after it, or fewer than the instrument's window of calendar days before it (in
    the patient's zone). An answer on Monday stands for a request up to Sunday, not the
    next Monday."""
    if answered_at >= asked_at:
        return True
    days = (asked_at.astimezone(tz).date() - answered_at.astimezone(tz).date()).days
    return days < repeat_window_days(code)


def local_instant(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The instant the wall clock in `tz` shows `clock` on `day`.

    A time skipped by a spring-forward jump moves forward by the gap; an ambiguous one
    (clocks going back) is the first occurrence. Returned in UTC.
    """
    naive = datetime.combine(day, clock)
    # In UTC: Python compares and subtracts two datetimes of the same zone by wall clock,
    # which is wrong across a change; instants in UTC compare and subtract correctly.
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _same_clock_later(moment: datetime, days: int, tz: ZoneInfo) -> datetime:
    """`days` calendar days after `moment` at the same local wall time."""
    local = moment.astimezone(tz)
    return local_instant(local.date() + timedelta(days=days), local.time(), tz)


def program_weeks(intended_use: object) -> int:
    """The program's intended length in weeks (from its intended use), else 8."""
    weeks = intended_use.get("weeks") if isinstance(intended_use, dict) else None
    if isinstance(weeks, int) and not isinstance(weeks, bool) and 1 <= weeks <= MAX_WEEKS:
        return weeks
    return DEFAULT_WEEKS


def plan(
    start: datetime,
    tz: ZoneInfo,
    *,
    weeks: int = DEFAULT_WEEKS,
    instruments: tuple[str, ...] = WEEKLY_INSTRUMENTS,
    onboarding: tuple[str, ...] = ONBOARDING_INSTRUMENTS,
) -> list[Planned]:
    """Every questionnaire of one enrollment, in due order."""
    if start.tzinfo is None:
        raise ValueError("the start of an enrollment must be an aware datetime")
    weeks = max(1, min(weeks, MAX_WEEKS))
    planned: list[Planned] = []
    start = start.astimezone(UTC)
    start_overdue = _same_clock_later(start, OVERDUE_DAYS, tz)
    start_closes = _same_clock_later(start, WEEKLY_CLOSE_DAYS, tz)
    for code in onboarding:
        planned.append(Planned(code, ONBOARDING, 0, start, start_overdue, start_closes))
    for code in instruments:
        planned.append(Planned(code, BASELINE, 0, start, start_overdue, start_closes))
    first_day = start.astimezone(tz).date()

    def window(day: date, overdue: int, closes: int) -> tuple[datetime, datetime, datetime]:
        return (
            local_instant(day, DUE_TIME, tz),
            local_instant(day + timedelta(days=overdue), DUE_TIME, tz),
            local_instant(day + timedelta(days=closes), DUE_TIME, tz),
        )

    for week in range(1, weeks):
        due, overdue, closes = window(
            first_day + timedelta(weeks=week), OVERDUE_DAYS, WEEKLY_CLOSE_DAYS
        )
        for code in instruments:
            planned.append(Planned(code, WEEKLY, week, due, overdue, closes))
    end_day = first_day + timedelta(weeks=weeks)
    due, overdue, closes = window(end_day, OVERDUE_DAYS, END_CLOSE_DAYS)
    for code in instruments:
        planned.append(Planned(code, END, weeks, due, overdue, closes))
    follow_day = end_day + timedelta(days=FOLLOW_UP_DAYS)
    due, overdue, closes = window(follow_day, FOLLOW_UP_OVERDUE_DAYS, FOLLOW_UP_CLOSE_DAYS)
    for code in instruments:
        planned.append(Planned(code, FOLLOW_UP, 0, due, overdue, closes))
    return planned
