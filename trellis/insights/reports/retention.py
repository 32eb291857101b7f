"""Retention: Kaplan-Meier curves of staying active, with 95% Greenwood bands.

For each enrollment, the time is the whole days from its start to its last
patient-initiated event (0 for someone who did nothing). The event (dropping out) is
observed when the enrollment ended withdrawn or discharged, or when it is still active and
the patient has been silent for 14 days or more; otherwise (still active and heard from in
the last 14 days, or completed) the time is censored.

S(t) = prod over event times t_i <= t of (1 - d_i / n_i), with n_i the enrollments whose
time is t_i or later and d_i the dropouts at t_i. Greenwood's variance is
Var S(t) = S(t)^2 * sum over t_i <= t of d_i / (n_i (n_i - d_i)); the band is
S(t) +/- 1.96 sqrt(Var), clipped to [0, 1]. Where the curve reaches 0 the sum is undefined
and the band is taken as [0, 0].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from numpy.typing import NDArray

from trellis.insights.reports.cohort import DAY_S, Cohort, last_event
from trellis.insights.reports.tables import Column, Kind, Table

SILENT_DAYS = 14
Z95 = 1.959963984540054
DROPPED_STATUSES = frozenset({"withdrawn", "discharged"})
# The days the table reads each curve at.
CHECKPOINTS = (7, 14, 28, 56, 84)

COLUMNS = [
    Column("grouping", gettext_lazy("Grouped by")),
    Column("group", gettext_lazy("Group")),
    Column("enrolled", gettext_lazy("Enrolled"), Kind.COUNT),
    Column("dropped", gettext_lazy("Dropped out"), Kind.COUNT),
    Column("day", gettext_lazy("Day"), Kind.NUMBER, digits=0),
    Column("at_risk", gettext_lazy("Still followed"), Kind.COUNT),
    Column("retained", gettext_lazy("Still active"), Kind.RATE, ("enrolled", "at_risk")),
    Column("lower", gettext_lazy("95% band, lower"), Kind.RATE, ("enrolled", "at_risk")),
    Column("upper", gettext_lazy("95% band, upper"), Kind.RATE, ("enrolled", "at_risk")),
]


@dataclass(frozen=True)
class Curve:
    """A Kaplan-Meier curve: its value from each time on (a step function), with its band
    and the number still followed and dropping out at each time."""

    times: NDArray[np.int64]  # 0, then every distinct time with a dropout or censoring
    survival: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    at_risk: NDArray[np.int64]
    events: NDArray[np.int64]
    censored: NDArray[np.int64]

    @property
    def size(self) -> int:
        return int(self.at_risk[0]) if self.at_risk.size else 0

    def at(self, day: int) -> tuple[float | None, float | None, float | None, int]:
        """S, its band, and how many were still followed at `day` (S is None past the last
        time anyone was followed)."""
        followed = int(self.at_risk_at(day))
        if not self.times.size or followed == 0:
            return None, None, None, followed
        n = int(np.searchsorted(self.times, day, side="right")) - 1
        return float(self.survival[n]), float(self.lower[n]), float(self.upper[n]), followed

    def at_risk_at(self, day: int) -> int:
        """How many enrollments had a time of `day` or later."""
        later = self.times >= day
        return int((self.events[later] + self.censored[later]).sum())


def kaplan_meier(times: NDArray[Any], observed: NDArray[np.bool_]) -> Curve:
    """The curve of `times` (whole days), each a dropout when `observed`, else censored."""
    times = np.asarray(times, dtype=np.int64)
    observed = np.asarray(observed, dtype=bool)
    if times.size == 0:
        one, none = np.ones(1), np.zeros(1, dtype=np.int64)
        return Curve(np.zeros(1, dtype=np.int64), one, one, one, none, none, none)
    unique, inverse = np.unique(times, return_inverse=True)
    leaving = np.bincount(inverse, minlength=unique.size)
    events = np.bincount(inverse, weights=observed.astype(np.float64), minlength=unique.size)
    events = events.astype(np.int64)
    at_risk = times.size - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = 1.0 - events / at_risk
        survival = np.cumprod(factor)
        term = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        variance = survival**2 * np.cumsum(term)
    variance = np.where(survival > 0, variance, 0.0)
    se = np.sqrt(variance)
    lower = np.clip(survival - Z95 * se, 0.0, 1.0)
    upper = np.clip(survival + Z95 * se, 0.0, 1.0)
    if unique.size == 0 or unique[0] != 0:  # the curve starts at 1 on day 0
        unique = np.concatenate(([0], unique))
        survival = np.concatenate(([1.0], survival))
        lower = np.concatenate(([1.0], lower))
        upper = np.concatenate(([1.0], upper))
        at_risk = np.concatenate(([times.size], at_risk))
        events = np.concatenate(([0], events))
        leaving = np.concatenate(([0], leaving))
    return Curve(
        times=unique.astype(np.int64),
        survival=survival,
        lower=lower,
        upper=upper,
        at_risk=at_risk.astype(np.int64),
        events=events.astype(np.int64),
        censored=(leaving - events).astype(np.int64),
    )


def times_and_dropouts(cohort: Cohort, now: float) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Each enrollment's time (whole days to its last patient-initiated event) and whether
    its dropout was observed, as of `now` (seconds)."""
    last = last_event(cohort)
    last = np.where(np.isnan(last), cohort.started, last)
    days = np.floor(np.maximum(last - cohort.started, 0.0) / DAY_S).astype(np.int64)
    status = cohort.column("status")
    ended_dropped = np.isin(status, list(DROPPED_STATUSES))
    silent = (status == "active") & (now - last >= SILENT_DAYS * DAY_S)
    return days, ended_dropped | silent


def curves(cohort: Cohort, now: float) -> list[tuple[str, str, Curve]]:
    """(grouping, group, curve) by program and by support level, each group sorted."""
    times, observed = times_and_dropouts(cohort, now)
    found = []
    for grouping, attribute in ((_("Program"), "program"), (_("Support"), "support_level")):
        values = cohort.column(attribute)
        for name in sorted(set(values.tolist())):
            mask = values == name
            found.append((grouping, name, kaplan_meier(times[mask], observed[mask])))
    return found


def table(found: list[tuple[str, str, Curve]]) -> Table:
    rows = []
    for grouping, group, curve in found:
        for day in CHECKPOINTS:
            survival, lower, upper, followed = curve.at(day)
            rows.append(
                {
                    "grouping": grouping,
                    "group": group,
                    "enrolled": curve.size,
                    "dropped": int(curve.events.sum()),
                    "day": day,
                    "at_risk": followed,
                    "retained": survival,
                    "lower": lower,
                    "upper": upper,
                }
            )
    return Table(columns=COLUMNS, rows=rows)
