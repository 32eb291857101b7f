"""Supporter workload and reply times, one row per supporter.

- Active patients: active enrollments on which the supporter is an active member of the
  care team (now, not over the period).
- Messages sent, sessions held (attended) and minutes of support recorded (on their
  messages and attended sessions): over the period.
- Reply time: for each patient message in the period, the time until the first care-team
  reply after it, counted for the supporter who sent that reply
  (`trellis.messaging.queries.reply_times_by_supporter`); the median and the 90th
  percentile (linear interpolation), in hours. Messages still unanswered are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext_lazy

from trellis.insights.reports.tables import Column, Kind, Table

HOUR_S = 3600.0

COLUMNS = [
    Column("supporter", gettext_lazy("Supporter")),
    Column("role", gettext_lazy("Role")),
    Column("active_patients", gettext_lazy("Active patients"), Kind.COUNT),
    Column("messages_sent", gettext_lazy("Messages sent"), Kind.COUNT),
    Column("replies", gettext_lazy("Replies timed"), Kind.COUNT),
    Column(
        "median_reply_hours", gettext_lazy("Reply time, median (hours)"), Kind.NUMBER, ("replies",)
    ),
    Column(
        "p90_reply_hours",
        gettext_lazy("Reply time, 90th percentile (hours)"),
        Kind.NUMBER,
        ("replies",),
    ),
    Column("sessions_held", gettext_lazy("Sessions held"), Kind.COUNT),
    Column("support_minutes", gettext_lazy("Minutes of support recorded"), Kind.NUMBER, digits=0),
]


@dataclass(frozen=True)
class SupporterWork:
    """What one supporter did over the period (read by the queries)."""

    name: str
    role: str
    active_patients: int
    messages_sent: int
    reply_seconds: Sequence[float]
    sessions_held: int
    support_minutes: int


def reply_summary(seconds: Sequence[float]) -> tuple[float | None, float | None]:
    """The median and 90th percentile of reply times, in hours (None when there are none)."""
    if not seconds:
        return None, None
    hours = np.asarray(seconds, dtype=np.float64) / HOUR_S
    return float(np.median(hours)), float(np.percentile(hours, 90))


def row(work: SupporterWork) -> dict[str, Any]:
    median, p90 = reply_summary(work.reply_seconds)
    return {
        "supporter": work.name,
        "role": work.role,
        "active_patients": work.active_patients,
        "messages_sent": work.messages_sent,
        "replies": len(work.reply_seconds),
        "median_reply_hours": median,
        "p90_reply_hours": p90,
        "sessions_held": work.sessions_held,
        "support_minutes": work.support_minutes,
    }


def table(people: Sequence[SupporterWork]) -> Table:
    """One row per supporter, in the order given."""
    return Table(columns=COLUMNS, rows=[row(work) for work in people])
