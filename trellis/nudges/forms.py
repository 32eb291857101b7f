"""Forms of the clinic's reminder settings: the outreach limits and one reminder rule.

They check the shape of what was typed; the rules service (`rules.save_rule`,
`rules.save_outreach_settings`) decides whether it may be saved (a rule outside the
clinic's hours is refused there, with the reason, and shown next to the field)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import AccessibleForm
from trellis.nudges.models import Channel, DigestFrequency, ReminderRule, RuleKind

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class OutreachSettingsForm(AccessibleForm):
    allowed_from = forms.TimeField(
        label=_("Earliest time a nudge may arrive"),
        widget=TIME,
        help_text=_("In each patient's own time zone."),
    )
    allowed_until = forms.TimeField(label=_("Latest time a nudge may arrive"), widget=TIME)
    daily_cap = forms.IntegerField(
        label=_("Nudges per patient per day, at most"), min_value=1, max_value=20
    )
    weekly_cap = forms.IntegerField(
        label=_("Nudges per patient per week, at most"),
        min_value=1,
        max_value=50,
        help_text=_("Across every channel; appointment texts are not counted."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("allowed_from"), data.get("allowed_until")
        if start is not None and start == end:
            self.add_error("allowed_until", _("The latest time must differ from the earliest."))
        daily, weekly = data.get("daily_cap"), data.get("weekly_cap")
        if daily and weekly and daily > weekly:
            self.add_error("daily_cap", _("The daily cap cannot be above the weekly cap."))
        return data


class RuleForm(AccessibleForm):
    """One reminder rule; the fields a kind does not use are left out."""

    enabled = forms.BooleanField(label=_("On"), required=False)
    send_at = forms.TimeField(
        label=_("Send at"),
        widget=TIME,
        required=False,
        help_text=_(
            "Local time. For today's exercise and the weekly summary, a patient's "
            "own reminder time comes first."
        ),
    )
    window_from = forms.TimeField(label=_("Not before"), widget=TIME)
    window_until = forms.TimeField(label=_("Not after"), widget=TIME)
    inactivity_days = forms.IntegerField(
        label=_("Days without activity"), min_value=1, max_value=60, required=False
    )
    digest_frequency = forms.ChoiceField(
        label=_("How often"), choices=DigestFrequency.choices, required=False
    )
    send_probability = forms.DecimalField(
        label=_("Probability of sending"),
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        max_digits=4,
        decimal_places=3,
        help_text=_(
            "1 sends at every decision point. Below 1 runs a micro-randomized trial: "
            "each time the patient is available, a random draw decides."
        ),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: the channels each patient chose."),
    )

    UNUSED: dict[str, tuple[str, ...]] = {
        RuleKind.SUPPORTER_DIGEST: ("inactivity_days",),
        RuleKind.INACTIVITY: ("digest_frequency",),
        RuleKind.MESSAGE_WAITING: ("send_at", "inactivity_days", "digest_frequency"),
        RuleKind.APPOINTMENT_24H: ("send_at", "inactivity_days", "digest_frequency"),
        RuleKind.APPOINTMENT_1H: ("send_at", "inactivity_days", "digest_frequency"),
    }

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        unused = self.UNUSED.get(kind, ("inactivity_days", "digest_frequency"))
        for name in unused:
            del self.fields[name]
        if kind == RuleKind.INACTIVITY:
            self.fields["inactivity_days"].required = True
        if kind == RuleKind.SUPPORTER_DIGEST:
            self.fields["digest_frequency"].required = True

    @staticmethod
    def initial_for(rule: ReminderRule) -> dict[str, Any]:
        return {
            "enabled": rule.enabled,
            "send_at": rule.send_at,
            "window_from": rule.window_from,
            "window_until": rule.window_until,
            "inactivity_days": rule.inactivity_days,
            "digest_frequency": rule.digest_frequency,
            "send_probability": rule.send_probability,
            "channels": list(rule.channels),
        }

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ProgramRuleForm(AccessibleForm):
    """A rule for one program, starting as a copy of the clinic-wide rule."""

    kind = forms.ChoiceField(label=_("Reminder"), choices=[])
    program_key = forms.ChoiceField(label=_("Program"), choices=[])

    def __init__(self, *args: Any, programs: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [  # type: ignore[attr-defined]
            (value, label)
            for value, label in RuleKind.choices
            if value != RuleKind.SUPPORTER_DIGEST
        ]
        self.fields["program_key"].choices = programs  # type: ignore[attr-defined]
