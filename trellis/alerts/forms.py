"""Forms of the alert pages: the note of the action taken, and a team's on-call clinician."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import AccessibleForm
from trellis.accounts.models import Team
from trellis.alerts import queries
from trellis.alerts.models import AlertKind, AlertState, Severity
from trellis.alerts.rule_settings import DEFAULTS, THRESHOLD_LIMITS
from trellis.alerts.safety import MAX_NOTE
from trellis.care.models import SupportLevel


class AcknowledgeForm(AccessibleForm):
    note = forms.CharField(
        label=_("What did you do?"),
        help_text=_(
            "Required. For example: called the patient, assessed risk, agreed a safety plan. "
            "Up to 2,000 characters; stored encrypted."
        ),
        max_length=MAX_NOTE,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": _("Write what you did (for example: called the patient, agreed a plan)."),
        },
    )


class OnCallForm(AccessibleForm):
    clinician: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("On-call clinician"),
        queryset=None,
        required=False,
        empty_label=_("Nobody (safety alerts go straight to a supervisor)"),
        help_text=_("A therapist or supervisor of the clinic."),
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        # Several teams share one page: each form's fields need their own names and ids.
        kwargs.setdefault("prefix", f"team-{team.pk}")
        super().__init__(*args, **kwargs)
        field: Any = self.fields["clinician"]
        field.queryset = queries.on_call_candidates(team)


STATE_CHOICES = [
    ("live", _("Open or acknowledged")),
    *AlertState.choices,
    ("", _("Any state")),
]


class AlertFilterForm(AccessibleForm):
    """The inbox filters (a GET form: a filtered list is a link that can be shared)."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any kind")), *AlertKind.choices], required=False
    )
    severity = forms.ChoiceField(
        label=_("Urgency"), choices=[("", _("Any urgency")), *Severity.choices], required=False
    )
    state = forms.ChoiceField(label=_("State"), choices=STATE_CHOICES, required=False)
    supporter: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Supporter's caseload"),
        queryset=None,
        required=False,
        empty_label=_("Every caseload"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["supporter"]
        field.queryset = queries.supporters_to_filter_by(user)
        if not field.queryset.exists():
            del self.fields["supporter"]

    def filters(self) -> queries.AlertFilters:
        data = self.cleaned_data
        return queries.AlertFilters(
            kind=data.get("kind") or "",
            severity=data.get("severity") or "",
            state=data.get("state") or "",
            supporter=data.get("supporter"),
        )


class GenericAcknowledgeForm(AccessibleForm):
    """Taking on an alert that is not a safety alert: a note is welcome, not required."""

    note = forms.CharField(
        label=_("Note"),  # the field template adds "(optional)"
        help_text=_("What you plan to do. Stored encrypted."),
        max_length=MAX_NOTE,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ResolveForm(AccessibleForm):
    note = forms.CharField(
        label=_("What did you do?"),
        help_text=_("Required for safety alerts not yet acknowledged. Stored encrypted."),
        max_length=MAX_NOTE,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DismissForm(AccessibleForm):
    reason = forms.CharField(
        label=_("Why is this alert not needed?"),
        help_text=_(
            "Required. For example: the patient told us they are away; the scores were "
            "entered by mistake. Reasons are kept to improve the alert rules."
        ),
        max_length=300,
        strip=True,
        error_messages={"required": _("Say why the alert is being dismissed.")},
    )
    note = forms.CharField(
        label=_("Note of the action taken (safety alerts)"),
        max_length=MAX_NOTE,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RuleSettingsForm(AccessibleForm):
    """Every configurable rule at every level of support: on or off, and its threshold."""

    def __init__(self, *args: Any, table: list[Any], **kwargs: Any) -> None:

        super().__init__(*args, **kwargs)
        self.rows: list[dict[str, Any]] = []
        for setting in table:
            rule = DEFAULTS[setting.kind]
            key = f"{setting.kind}__{setting.support_level}"
            level = SupportLevel(setting.support_level).label
            self.fields[f"{key}__enabled"] = forms.BooleanField(
                label=_("On for %(level)s") % {"level": level},
                required=False,
                initial=setting.enabled,
            )
            row = {"setting": setting, "rule": rule, "level": level, "enabled": key + "__enabled"}
            if rule.unit:
                low, high = THRESHOLD_LIMITS[rule.unit]
                self.fields[f"{key}__threshold"] = forms.IntegerField(
                    label=(
                        _("Days for %(level)s") if rule.unit == "days" else _("Weeks for %(level)s")
                    )
                    % {"level": level},
                    min_value=low,
                    max_value=high,
                    initial=setting.threshold,
                    error_messages={
                        "required": _("Give a number of %(unit)s.") % {"unit": rule.unit}
                    },
                )
                row["threshold"] = key + "__threshold"
            self.rows.append(row)

    def bound_rows(self) -> list[dict[str, Any]]:
        return [
            {
                **row,
                "enabled_field": self[row["enabled"]],
                "threshold_field": self[row["threshold"]] if "threshold" in row else None,
            }
            for row in self.rows
        ]

    def values(self) -> dict[tuple[str, str], tuple[bool, int | None]]:
        found: dict[tuple[str, str], tuple[bool, int | None]] = {}
        for row in self.rows:
            setting = row["setting"]
            threshold = self.cleaned_data.get(row["threshold"]) if "threshold" in row else None
            found[(setting.kind, setting.support_level)] = (
                bool(self.cleaned_data.get(row["enabled"])),
                threshold,
            )
        return found
