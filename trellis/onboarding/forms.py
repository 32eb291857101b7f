"""Forms for getting started (consent, simple mode, preferences) and for a clinician
confirming a level of support. Each ties its messages to its fields for screen readers."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import AccessibleForm
from trellis.accounts.models import CLINICAL_ROLES, Organization, Team, User
from trellis.care.models import ContactStyle, ReminderChannel, SupportLevel
from trellis.programs.models import Program

AGREE_CHOICES = [("yes", _("I agree")), ("no", _("I do not agree"))]


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone a person might live in, by name (no bare aliases like "EST")."""
    names = sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )
    return [(name, name.replace("_", " ")) for name in names]


class ConsentForm(AccessibleForm):
    """One agree/decline choice per consent document, named by its kind."""

    def __init__(self, *args: Any, documents: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = documents
        for doc in documents:
            self.fields[doc.kind] = forms.ChoiceField(
                label=doc.title,
                choices=AGREE_CHOICES,
                widget=forms.RadioSelect,
                required=False,
            )

    def answers(self) -> dict[str, bool]:
        """Agree (True) or decline (False) by kind; unanswered kinds are left out."""
        result = {}
        for doc in self.documents:
            value = self.cleaned_data.get(doc.kind)
            if value in ("yes", "no"):
                result[doc.kind] = value == "yes"
        return result


class SimpleModeChoiceForm(AccessibleForm):
    choice = forms.ChoiceField(
        label=_("Would you like to use simple mode?"),
        choices=[("yes", _("Yes, turn simple mode on")), ("no", _("No, thank you"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose yes or no.")},
    )


class PreferencesForm(AccessibleForm):
    contact_style = forms.ChoiceField(
        label=_("How would you like to be in touch with your care team?"),
        choices=ContactStyle.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose how you would like to be in touch.")},
    )
    reminder_channels = forms.MultipleChoiceField(
        label=_("How should we remind you?"),
        choices=ReminderChannel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Tick as many as you like, or none."),
    )
    quiet_hours_start = forms.TimeField(
        label=_("Quiet from"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("No reminders between these times. Leave both empty for none."),
        error_messages={"invalid": _("Enter a time such as 21:30.")},
    )
    quiet_hours_end = forms.TimeField(
        label=_("Quiet until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("Enter a time such as 07:30.")},
    )
    time_zone = forms.ChoiceField(
        label=_("Your time zone"),
        choices=[],
        help_text=_("Reminders and questionnaires follow your local time."),
        error_messages={"invalid_choice": _("Choose a time zone from the list.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        half_given = (start is None) != (end is None)
        typed_badly = "quiet_hours_start" in self.errors or "quiet_hours_end" in self.errors
        if half_given and not typed_badly:
            self.add_error(
                "quiet_hours_end", _("Give both a start and an end, or leave both empty.")
            )
        return data


class ConfirmSupportLevelForm(AccessibleForm):
    level = forms.ChoiceField(
        label=_("Level of support"),
        choices=SupportLevel.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a level of support.")},
    )
    note = forms.CharField(
        label=_("Note for the record"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class InvitePatientForm(AccessibleForm):
    """A clinician invites a patient into a program (its latest published version)."""

    email = forms.EmailField(label=_("Email address"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    program: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Program"),
        queryset=None,
        to_field_name="slug",
        empty_label=None,
        help_text=_("The patient starts the newest published version."),
    )
    support_level = forms.ChoiceField(
        label=_("Level of support, for now"),
        choices=[],
        widget=forms.RadioSelect,  # drawn as a group of radios by _choice_group.html
        help_text=_(
            "A starting point: after the first questionnaires Trellis suggests a level for "
            "a clinician to confirm."
        ),
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("No team")
    )
    supporters = forms.ModelMultipleChoiceField(
        label=_("Supporters"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The first one ticked, in the order listed, is the primary supporter."),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:

        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = (  # type: ignore[attr-defined]
            Program.objects.filter(versions__isnull=False).distinct().order_by("title")
        )
        self.fields["support_level"].choices = SupportLevel.choices  # type: ignore[attr-defined]
        self.fields["team"].queryset = Team.objects.filter(organization=organization)  # type: ignore[attr-defined]
        self.fields["supporters"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(
                memberships__organization=organization,
                memberships__role__in=CLINICAL_ROLES,
                memberships__is_active=True,
            )
            .distinct()
            .order_by("full_name")
        )
