"""The forms of the record pages: a patient's request for a correction and a clinician's
decision. They only read the input; the rules are checked by the services (`parts`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.interop.record.parts import MAX_CHANGE, MAX_REASON, PARTS


class AmendmentRequestForm(forms.Form):
    about = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[("", _("Choose a part of your record"))] + [(k, v) for k, v in PARTS.items()],
    )
    change = forms.CharField(
        label=_("What should be corrected, and how?"),
        help_text=_(
            "Say which entry (for example its date) and what it should say instead. "
            "The original stays in your record, with your correction beside it if it is "
            "accepted."
        ),
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": MAX_CHANGE}),
        max_length=MAX_CHANGE,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"{name}-hint"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Your decision"),
        choices=[
            ("accept", _("Accept: add the correction to the record")),
            ("refuse", _("Refuse")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        help_text=_(
            "Required to refuse. The patient reads it: say why, in plain words "
            "(for example, the entry is accurate and complete)."
        ),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_REASON}),
        max_length=MAX_REASON,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].widget.attrs["aria-describedby"] = "reason-hint"
