"""Forms of the patient pages. Each write form carries a client id made when the page is
drawn, so sending it twice (a double tap, a retry) repeats the same id and counts once."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import AccessibleForm

JOURNAL_MAX = 10_000
MOOD_NOTE_MAX = 1_000
MAX_DURATION_S = 24 * 60 * 60


class ClientIdForm(AccessibleForm):
    """A form whose submission is recognised by its client id."""

    client_id = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("This form is out of date. Please try again."),
            "invalid": _("This form is out of date. Please try again."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_id", str(uuid.uuid4()))


class CompletionForm(ClientIdForm):
    """Finishing a step. The answers themselves are checked by the exercise kind."""

    duration_s = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_DURATION_S, widget=forms.HiddenInput
    )


class RatingForm(ClientIdForm):
    rating = forms.TypedChoiceField(
        label=_("How helpful was this?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose a number from 1 to 5."),
            "invalid_choice": _("Please choose a number from 1 to 5."),
        },
    )


class ActivityOutcomeForm(ClientIdForm):
    """Afterwards: was the planned activity done, and how it felt (0-10)."""

    mood = forms.IntegerField(
        label=_("How was your mood while doing it? (0 to 10)"),
        min_value=0,
        max_value=10,
        help_text=_("0 is very low, 10 is very good."),
        error_messages={
            "required": _("Please enter a number from 0 to 10."),
            "min_value": _("Please enter a number from 0 to 10."),
            "max_value": _("Please enter a number from 0 to 10."),
            "invalid": _("Please enter a number from 0 to 10."),
        },
    )
    mastery = forms.IntegerField(
        label=_("How much did you feel you got something done? (0 to 10)"),
        min_value=0,
        max_value=10,
        help_text=_("0 is not at all, 10 is very much."),
        error_messages={
            "required": _("Please enter a number from 0 to 10."),
            "min_value": _("Please enter a number from 0 to 10."),
            "max_value": _("Please enter a number from 0 to 10."),
            "invalid": _("Please enter a number from 0 to 10."),
        },
    )


class JournalForm(ClientIdForm):
    body = forms.CharField(
        label=_("What is on your mind?"),
        max_length=JOURNAL_MAX,
        widget=forms.Textarea(
            attrs={"rows": 6, "maxlength": JOURNAL_MAX, "data-counter": "body-count"}
        ),
        error_messages={
            "required": _("Please write something before saving."),
            "max_length": _(
                "Please keep an entry to %(limit_value)s characters (this one has %(show_value)s)."
            ),
        },
    )
    shared = forms.BooleanField(label=_("Share this entry with my care team"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The browser's own maxlength stops typing at the limit; the server still checks.
        self.fields["body"].widget.attrs["aria-describedby"] = "body-count"


class ShareForm(AccessibleForm):
    shared = forms.BooleanField(required=False)


class MoodForm(ClientIdForm):
    score = forms.TypedChoiceField(
        label=_("How is your mood right now?"),
        choices=[(n, str(n)) for n in range(1, 11)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose a number from 1 to 10."),
            "invalid_choice": _("Please choose a number from 1 to 10."),
        },
    )
    note = forms.CharField(
        label=_("Anything you want to add?"),
        required=False,
        max_length=MOOD_NOTE_MAX,
        widget=forms.Textarea(
            attrs={"rows": 3, "maxlength": MOOD_NOTE_MAX, "data-counter": "note-count"}
        ),
        error_messages={
            "max_length": _(
                "Please keep the note to %(limit_value)s characters (this one has %(show_value)s)."
            ),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].widget.attrs["aria-describedby"] = "note-count"


class SimpleModeForm(AccessibleForm):
    enabled = forms.BooleanField(required=False)
