"""The reports a clinic has, by the name used in their addresses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trellis.insights.reports.tables import Table

ENGAGEMENT, RETENTION, OUTCOMES, WORKLOAD, PHENOTYPES = (
    "engagement",
    "retention",
    "outcomes",
    "workload",
    "phenotypes",
)
TITLES: dict[str, Promise] = {
    ENGAGEMENT: _("Engagement"),
    RETENTION: _("Retention"),
    OUTCOMES: _("Outcomes"),
    WORKLOAD: _("Supporter workload and reply times"),
    PHENOTYPES: _("Engagement phenotypes"),
}
SUMMARIES: dict[str, Promise] = {
    ENGAGEMENT: _(
        "Intended use, uptake, level of use, duration of use and completion against "
        "intended use, for each program."
    ),
    RETENTION: _(
        "How many stay active over time (Kaplan-Meier, with 95% bands), by program and by "
        "level of support."
    ),
    OUTCOMES: _(
        "Recovery, reliable improvement, reliable recovery and reliable deterioration (NHS "
        "Talking Therapies rules), by program, level of support and supporter."
    ),
    WORKLOAD: _(
        "For each supporter: active patients, messages, reply times, sessions and minutes "
        "of support."
    ),
    PHENOTYPES: _(
        "Groups of patients whose first 8 weeks looked alike, with their size and outcomes."
    ),
}
NAMES = tuple(TITLES)


def unknown_report_message(name: str) -> str:
    return gettext("There is no report called “%(name)s”. The reports are: %(names)s.") % {
        "name": name,
        "names": ", ".join(NAMES),
    }


@dataclass
class Report:
    """A report as shown: its table (suppressed for researchers) and what its chart needs."""

    name: str
    table: Table
    deidentified: bool
    period_from: Any = None  # the first day counted (a date), None for all
    chart: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> Promise:
        return TITLES[self.name]
