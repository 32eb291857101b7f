"""Outcomes by the NHS Talking Therapies rules, counted for groups of enrollments.

Each enrollment's outcome comes from `trellis.measures.outcomes.from_series` (its first and
last PHQ-9 and GAD-7 totals); only enrollments with both questionnaires measured at least
twice have one, and only they are counted. The rates, as the national reports give them:

- recovery: recovered / at caseness at the first measure;
- reliable recovery: reliably recovered / at caseness at the first measure;
- reliable improvement and reliable deterioration: of everyone with an outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trellis.insights.reports.tables import Column, Kind, Table, rate
from trellis.measures.outcomes import Outcome, from_series

PHQ9, GAD7 = "PHQ-9", "GAD-7"
MEASURED = ("with_outcome",)
CASES = ("with_outcome", "caseness_first")

COLUMNS = [
    Column("grouping", gettext_lazy("Grouped by")),
    Column("group", gettext_lazy("Group")),
    Column("with_outcome", gettext_lazy("People with two or more measures"), Kind.COUNT),
    Column("caseness_first", gettext_lazy("At caseness at the start"), Kind.COUNT),
    Column("recovered", gettext_lazy("Recovered"), Kind.COUNT),
    Column("recovery_rate", gettext_lazy("Recovery"), Kind.RATE, (*CASES, "recovered")),
    Column("improved", gettext_lazy("Reliably improved"), Kind.COUNT),
    Column(
        "improvement_rate",
        gettext_lazy("Reliable improvement"),
        Kind.RATE,
        (*MEASURED, "improved"),
    ),
    Column("reliably_recovered", gettext_lazy("Reliably recovered"), Kind.COUNT),
    Column(
        "reliable_recovery_rate",
        gettext_lazy("Reliable recovery"),
        Kind.RATE,
        (*CASES, "reliably_recovered"),
    ),
    Column("deteriorated", gettext_lazy("Reliably deteriorated"), Kind.COUNT),
    Column(
        "deterioration_rate",
        gettext_lazy("Reliable deterioration"),
        Kind.RATE,
        (*MEASURED, "deteriorated"),
    ),
]


def outcome_of(series: Mapping[str, Sequence[int]]) -> Outcome | None:
    """One enrollment's outcome from its totals in time order ({"PHQ-9": [...], ...})."""
    return from_series(series.get(PHQ9, ()), series.get(GAD7, ()))


def counts(group: str, grouping: str, outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """The counts and rates of one group's outcomes."""
    found = list(outcomes)
    measured = len(found)
    cases = sum(o.caseness_first for o in found)
    recovered = sum(o.recovery for o in found)
    improved = sum(o.reliable_improvement for o in found)
    reliably = sum(o.reliable_recovery for o in found)
    worse = sum(o.reliable_deterioration for o in found)
    return {
        "grouping": grouping,
        "group": group,
        "with_outcome": measured,
        "caseness_first": cases,
        "recovered": recovered,
        "recovery_rate": rate(recovered, cases),
        "improved": improved,
        "improvement_rate": rate(improved, measured),
        "reliably_recovered": reliably,
        "reliable_recovery_rate": rate(reliably, cases),
        "deteriorated": worse,
        "deterioration_rate": rate(worse, measured),
    }


def grouped(
    grouping: str,
    outcomes: Mapping[Any, Outcome],
    group_of: Callable[[Any], str],
) -> list[dict[str, Any]]:
    """One row per group (sorted by name) of the enrollments that have an outcome."""
    groups: dict[str, list[Outcome]] = {}
    for enrollment_id, outcome in outcomes.items():
        groups.setdefault(group_of(enrollment_id), []).append(outcome)
    return [counts(name, grouping, groups[name]) for name in sorted(groups)]


def table(
    outcomes: Mapping[Any, Outcome],
    *,
    program: Mapping[Any, str],
    support_level: Mapping[Any, str],
    supporter: Mapping[Any, str],
) -> Table:
    """All enrollments with an outcome, then by program, support level and supporter."""
    rows = [counts(_("Everyone"), _("All"), outcomes.values())]
    rows += grouped(_("Program"), outcomes, program.__getitem__)
    rows += grouped(_("Support"), outcomes, support_level.__getitem__)
    rows += grouped(_("Supporter"), outcomes, supporter.__getitem__)
    return Table(columns=COLUMNS, rows=rows)
