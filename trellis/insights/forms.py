"""Forms of the alert pages: the note of the action taken, and a team's on-call clinician."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.clinic_forms import AccessibleForm
from trellis.accounts.models import Team
from trellis.insights import queries
from trellis.insights.safety import MAX_NOTE


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
