"""Forms of the patient record: a care note, suggesting a change of support, and deciding one."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.care.models import SupportLevel
from trellis.care.services import MAX_NOTE, MAX_REASON


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("New care note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=MAX_NOTE,
    )


class StepChangeForm(forms.Form):
    to_level = forms.ChoiceField(
        label=_("Suggested level of support"),
        choices=[("", _("Choose a level")), *SupportLevel.choices],
        required=False,
    )
    reason = forms.CharField(label=_("Why"), max_length=MAX_REASON, required=False)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), max_length=MAX_REASON, required=False)
