"""The alert rules a clinic can tune: each rule's default (on or off, threshold per level
of support, unit, severity) and the clinic's own settings (AlertRuleSetting rows).

The hourly evaluation that applies them lives in trellis.insights.rules; the missed-session
rule is applied by the appointments app when a no-show is recorded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

from trellis.alerts.models import AlertKind, AlertRuleSetting, Severity
from trellis.care.models import SupportLevel
from trellis.programs.instruments import reliable_change


@dataclass(frozen=True)
class RuleDefault:
    """A rule as Trellis ships it: on or off, its threshold per level, and the unit."""

    kind: str
    label: Any  # a lazily translated description
    enabled: bool
    thresholds: dict[str, int | None]
    unit: str  # "days", "weeks" or "" (no threshold)
    severity: str

    @property
    def kind_label(self) -> str:
        return str(AlertKind(self.kind).label)


def _same(value: int | None) -> dict[str, int | None]:
    return {level: value for level in SupportLevel.values}


def _deterioration_label() -> str:
    # The figures are the instrument files' reliable change, read when the label is shown.
    return gettext(
        "Reliable deterioration (PHQ-9 up %(phq9)d or more, or GAD-7 up %(gad7)d or more)"
    ) % {"phq9": reliable_change("PHQ-9"), "gad7": reliable_change("GAD-7")}


DEFAULTS: dict[str, RuleDefault] = {
    AlertKind.INACTIVITY: RuleDefault(
        AlertKind.INACTIVITY,
        gettext_lazy("No activity for N days"),
        True,
        {
            SupportLevel.SELF_GUIDED: 10,
            SupportLevel.COACHED: 5,
            SupportLevel.THERAPIST_ASSISTED: 5,
        },
        "days",
        Severity.MEDIUM,
    ),
    AlertKind.UNANSWERED_MESSAGE: RuleDefault(
        AlertKind.UNANSWERED_MESSAGE,
        gettext_lazy("A patient message waiting N days for a reply"),
        True,
        _same(2),
        "days",
        Severity.MEDIUM,
    ),
    AlertKind.DETERIORATION: RuleDefault(
        AlertKind.DETERIORATION,
        lazy(_deterioration_label, str)(),
        True,
        _same(None),
        "",
        Severity.HIGH,
    ),
    AlertKind.NO_IMPROVEMENT: RuleDefault(
        AlertKind.NO_IMPROVEMENT,
        gettext_lazy("No reliable improvement after N weeks"),
        True,
        _same(6),
        "weeks",
        Severity.MEDIUM,
    ),
    AlertKind.MISSED_SESSION: RuleDefault(
        AlertKind.MISSED_SESSION,
        gettext_lazy("A live session missed (raised when attendance is recorded)"),
        True,
        _same(None),
        "",
        Severity.MEDIUM,
    ),
}


# What a clinic may set a threshold to, by unit.
THRESHOLD_LIMITS = {"days": (1, 90), "weeks": (1, 52)}


@dataclass(frozen=True)
class Setting:
    """The rule as it applies to one clinic and level of support."""

    kind: str
    support_level: str
    enabled: bool
    threshold: int | None
    customised: bool


def _resolve(kind: str, level: str, rows: dict[tuple[str, str], AlertRuleSetting]) -> Setting:
    default = DEFAULTS[kind]
    row = rows.get((kind, level)) or rows.get((kind, ""))
    if row is None:
        return Setting(kind, level, default.enabled, default.thresholds[level], False)
    threshold = row.threshold if row.threshold is not None else default.thresholds[level]
    if default.unit == "":
        threshold = None
    return Setting(kind, level, row.enabled, threshold, True)


def _rows_of(organization_id: Any) -> dict[tuple[str, str], AlertRuleSetting]:
    return {
        (row.kind, row.support_level): row
        for row in AlertRuleSetting.objects.filter(organization_id=organization_id)
    }


def setting_for(organization_id: Any, kind: str, support_level: str) -> Setting:
    """The rule's setting for one clinic and level: the level's own row, else the clinic's
    row for every level, else the default."""
    return _resolve(kind, support_level, _rows_of(organization_id))


def settings_table(organization_id: Any) -> list[Setting]:
    """Every rule at every level, as it applies now (for the settings page and the docs)."""
    rows = _rows_of(organization_id)
    return [_resolve(kind, level, rows) for kind in DEFAULTS for level in SupportLevel.values]


def _all_settings() -> dict[Any, dict[tuple[str, str], AlertRuleSetting]]:
    by_org: dict[Any, dict[tuple[str, str], AlertRuleSetting]] = defaultdict(dict)
    for row in AlertRuleSetting.objects.all():
        by_org[row.organization_id][(row.kind, row.support_level)] = row
    return by_org
