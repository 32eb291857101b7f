"""Forms of the message pages. Each send form carries a client id made when the page is
drawn, so a double tap or a retry sends the message once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.journey.forms import ClientIdForm
from trellis.messaging.services import MAX_BODY, MAX_SUPPORT_MINUTES


class MessageForm(ClientIdForm):
    """A message from the patient to their care team."""

    body = forms.CharField(
        label=_("Your message"),
        max_length=MAX_BODY,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_BODY}),
        error_messages={
            "required": _("Please write a message before sending."),
            "max_length": _(
                "Please keep a message to %(limit_value)s characters (this one has %(show_value)s)."
            ),
        },
    )


class ReplyForm(MessageForm):
    """A reply from the care team, perhaps started from a template, with the time it took."""

    template_key = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)
    support_minutes = forms.IntegerField(
        label=_("Minutes spent (optional)"),
        required=False,
        min_value=0,
        max_value=MAX_SUPPORT_MINUTES,
        help_text=_("Counted in the support time of this patient."),
        error_messages={
            "min_value": _("Enter between 0 and %(limit_value)s minutes."),
            "max_value": _("Enter at most %(limit_value)s minutes."),
            "invalid": _("Enter the minutes as a whole number."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].label = _("Your reply")
