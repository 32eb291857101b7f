"""A clinic's enrollments and their patient-initiated events as arrays: what every report
reads. Built once per report by `trellis.insights.queries`; no database here.

Times are seconds since the epoch (floats, UTC) so that days of the program are plain
arithmetic: day d of an enrollment is the 24 hours from started_at + d days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

DAY_S = 86_400.0
WEEK_DAYS = 7
# The pace assumed when a program says nothing about its intended use.
DEFAULT_STEPS_PER_WEEK = 3
DEFAULT_WEEKS = 8


def seconds(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("nan")


@dataclass(frozen=True)
class EnrollmentRow:
    """One enrollment as the reports need it (built by the queries)."""

    id: Any
    program: str  # the program's title
    support_level: str  # its label
    supporter_id: Any  # the primary supporter, None for none
    status: str  # active, completed, withdrawn, discharged
    started_at: datetime
    ended_at: datetime | None
    got_started_at: datetime | None  # getting started done; None if not yet
    steps_in_program: int
    steps_per_week: int | None  # the program's intended pace, None when it says none
    weeks: int | None


@dataclass(frozen=True)
class EventRow:
    """One patient-initiated event."""

    enrollment_id: Any
    occurred_at: datetime
    step_completed: bool
    duration_s: int | None


@dataclass(frozen=True)
class Cohort:
    """Enrollments (one row each) and their patient-initiated events, as arrays."""

    rows: list[EnrollmentRow]
    started: NDArray[np.float64]
    got_started: NDArray[np.float64]  # nan: getting started not done
    ended: NDArray[np.float64]  # nan: not ended
    event_row: NDArray[np.int64]  # index of the event's enrollment in rows
    event_at: NDArray[np.float64]
    event_step: NDArray[np.bool_]
    event_duration: NDArray[np.float64]  # nan: unknown

    @property
    def size(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> NDArray[Any]:
        return np.array([getattr(r, name) for r in self.rows], dtype=object)

    def event_day(self) -> NDArray[np.int64]:
        """Each event's day of the program (0 = the first 24 hours)."""
        offset = (self.event_at - self.started[self.event_row]) / DAY_S
        return np.floor(np.maximum(offset, 0.0)).astype(np.int64)


def build(enrollments: Sequence[EnrollmentRow], events: Sequence[EventRow]) -> Cohort:
    """The arrays of a cohort; events of enrollments not in `enrollments` are dropped."""
    rows = list(enrollments)
    index = {row.id: n for n, row in enumerate(rows)}
    kept = [e for e in events if e.enrollment_id in index]
    return Cohort(
        rows=rows,
        started=np.array([seconds(r.started_at) for r in rows], dtype=np.float64),
        got_started=np.array([seconds(r.got_started_at) for r in rows], dtype=np.float64),
        ended=np.array([seconds(r.ended_at) for r in rows], dtype=np.float64),
        event_row=np.array([index[e.enrollment_id] for e in kept], dtype=np.int64),
        event_at=np.array([seconds(e.occurred_at) for e in kept], dtype=np.float64),
        event_step=np.array([e.step_completed for e in kept], dtype=np.bool_),
        event_duration=np.array(
            [float("nan") if e.duration_s is None else float(e.duration_s) for e in kept],
            dtype=np.float64,
        ),
    )


def last_event(cohort: Cohort) -> NDArray[np.float64]:
    """Each enrollment's last patient-initiated event (seconds), nan when it has none."""
    last = np.full(cohort.size, -np.inf)
    np.maximum.at(last, cohort.event_row, cohort.event_at)
    return np.where(np.isinf(last), np.nan, last)


def active_days(cohort: Cohort, *, weeks: int | None = None) -> NDArray[np.int64]:
    """Each enrollment's number of days with any patient-initiated event (days of the
    program), or with `weeks` an (enrollments x weeks) array of active days each week."""
    day = cohort.event_day()
    if weeks is None:
        pairs = np.unique(np.stack([cohort.event_row, day]), axis=1)
        return np.bincount(pairs[0], minlength=cohort.size).astype(np.int64)
    inside = day < weeks * WEEK_DAYS
    pairs = np.unique(np.stack([cohort.event_row[inside], day[inside]]), axis=1)
    grid = np.zeros((cohort.size, weeks), dtype=np.int64)
    np.add.at(grid, (pairs[0], pairs[1] // WEEK_DAYS), 1)
    return grid
