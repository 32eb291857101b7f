"""Engagement in five elements (docs/insights-reports.md, "Engagement"):

1. Intended use: the dose patients were told, from the program's intended use
   (`exercises_per_week` for `weeks`); a program that says none is read as 3 steps a week
   for 8 weeks, and the table says so. The intended dose is that pace times the weeks,
   capped at the number of steps in the program.
2. Uptake: the share of those enrolled who did anything (any patient-initiated event)
   after finishing getting started.
3. Level of use: active days (days of the program with any patient-initiated event),
   steps completed, and minutes spent on steps (their duration_s).
4. Duration of use: persistence, the week of the program (1, 2, ...) of the last
   patient-initiated event; 0 for someone who did nothing.
5. Completion against intended use: steps completed against the intended dose (the
   median share, and how many reached it) and against the whole program.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from numpy.typing import NDArray

from trellis.insights.reports.cohort import (
    DAY_S,
    DEFAULT_STEPS_PER_WEEK,
    DEFAULT_WEEKS,
    WEEK_DAYS,
    Cohort,
    active_days,
    last_event,
)
from trellis.insights.reports.tables import Column, Kind, Table, rate

N = ("enrolled",)
COLUMNS = [
    Column("program", gettext_lazy("Program")),
    Column("intended_use", gettext_lazy("Intended use")),
    Column("program_steps", gettext_lazy("Steps in the program"), Kind.NUMBER, digits=0),
    Column("intended_dose", gettext_lazy("Intended dose (steps)"), Kind.NUMBER, digits=0),
    Column("enrolled", gettext_lazy("Enrolled"), Kind.COUNT),
    Column("took_up", gettext_lazy("Used it after getting started"), Kind.COUNT),
    Column("uptake", gettext_lazy("Uptake"), Kind.RATE, ("enrolled", "took_up")),
    Column("median_active_days", gettext_lazy("Active days (median)"), Kind.NUMBER, N),
    Column("median_steps", gettext_lazy("Steps completed (median)"), Kind.NUMBER, N),
    Column("median_minutes", gettext_lazy("Minutes on steps (median)"), Kind.NUMBER, N),
    Column("median_weeks", gettext_lazy("Weeks of use (median)"), Kind.NUMBER, N),
    Column("median_dose_share", gettext_lazy("Share of intended dose (median)"), Kind.RATE, N),
    Column("reached_dose", gettext_lazy("Reached the intended dose"), Kind.COUNT),
    Column(
        "reached_dose_rate",
        gettext_lazy("Reached the intended dose (share)"),
        Kind.RATE,
        ("enrolled", "reached_dose"),
    ),
    Column("completed_all", gettext_lazy("Completed every step"), Kind.COUNT),
    Column(
        "completed_all_rate",
        gettext_lazy("Completed every step (share)"),
        Kind.RATE,
        ("enrolled", "completed_all"),
    ),
]


def _median(values: NDArray[Any]) -> float | None:
    return float(np.median(values)) if values.size else None


def per_enrollment(cohort: Cohort) -> dict[str, NDArray[Any]]:
    """Each enrollment's measures of use, as arrays in the cohort's order."""
    size = cohort.size
    after_start = cohort.event_at >= cohort.got_started[cohort.event_row]  # nan: never
    took_up = np.zeros(size, dtype=bool)
    took_up[cohort.event_row[after_start]] = True
    steps = np.bincount(cohort.event_row[cohort.event_step], minlength=size)
    durations = np.where(cohort.event_step, np.nan_to_num(cohort.event_duration), 0.0)
    minutes = np.bincount(cohort.event_row, weights=durations, minlength=size) / 60.0
    last = last_event(cohort)
    weeks_of_use = np.where(
        np.isnan(last),
        0,
        np.floor(np.maximum(last - cohort.started, 0) / (DAY_S * WEEK_DAYS)) + 1,
    ).astype(np.int64)
    program_steps = np.array([r.steps_in_program for r in cohort.rows], dtype=np.int64)
    dose = np.array(
        [intended_dose(r.steps_per_week, r.weeks, r.steps_in_program) for r in cohort.rows],
        dtype=np.int64,
    )
    return {
        "took_up": took_up,
        "active_days": active_days(cohort),
        "steps": steps.astype(np.int64),
        "minutes": minutes,
        "weeks_of_use": weeks_of_use,
        "program_steps": program_steps,
        "dose": dose,
        "dose_share": steps / np.maximum(dose, 1),
        "reached_dose": (dose > 0) & (steps >= dose),
        "completed_all": (program_steps > 0) & (steps >= program_steps),
    }


def intended_dose(per_week: int | None, weeks: int | None, steps_in_program: int) -> int:
    """The steps patients were told to do: pace x weeks, never more than the program has."""
    pace = per_week or DEFAULT_STEPS_PER_WEEK
    told = pace * (weeks or DEFAULT_WEEKS)
    return min(told, steps_in_program) if steps_in_program else told


def intended_use_text(per_week: int | None, weeks: int | None) -> str:
    if per_week:
        return _("%(pace)s steps a week for %(weeks)s weeks") % {
            "pace": per_week,
            "weeks": weeks or DEFAULT_WEEKS,
        }
    return _("%(pace)s steps a week for %(weeks)s weeks (assumed: the program sets none)") % {
        "pace": DEFAULT_STEPS_PER_WEEK,
        "weeks": weeks or DEFAULT_WEEKS,
    }


def _row(name: str, use: dict[str, NDArray[Any]], mask: NDArray[np.bool_]) -> dict[str, Any]:
    enrolled = int(mask.sum())
    took_up = int(use["took_up"][mask].sum())
    reached = int(use["reached_dose"][mask].sum())
    completed = int(use["completed_all"][mask].sum())
    return {
        "program": name,
        "enrolled": enrolled,
        "took_up": took_up,
        "uptake": rate(took_up, enrolled),
        "median_active_days": _median(use["active_days"][mask]),
        "median_steps": _median(use["steps"][mask]),
        "median_minutes": _median(use["minutes"][mask]),
        "median_weeks": _median(use["weeks_of_use"][mask]),
        "median_dose_share": _median(use["dose_share"][mask]),
        "reached_dose": reached,
        "reached_dose_rate": rate(reached, enrolled),
        "completed_all": completed,
        "completed_all_rate": rate(completed, enrolled),
    }


def table(cohort: Cohort) -> Table:
    """One row for every program, and a first row for them all together."""
    use = per_enrollment(cohort)
    everyone = np.ones(cohort.size, dtype=bool)
    rows = [
        {
            **_row(_("All programs"), use, everyone),
            "intended_use": "",
            "program_steps": None,
            "intended_dose": None,
        }
    ]
    programs = cohort.column("program")
    for name in sorted(set(programs.tolist())):
        mask = programs == name
        first = cohort.rows[int(np.flatnonzero(mask)[0])]
        rows.append(
            {
                **_row(name, use, mask),
                "intended_use": intended_use_text(first.steps_per_week, first.weeks),
                "program_steps": first.steps_in_program,
                "intended_dose": intended_dose(
                    first.steps_per_week, first.weeks, first.steps_in_program
                ),
            }
        )
    return Table(columns=COLUMNS, rows=rows)
