"""Forms for running a clinic: inviting staff, roles, clinic settings, API tokens,
and accepting an invitation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import AccessibleForm, SetPasswordForm
from trellis.accounts.models import STAFF_ROLES, Organization, Role, Team, TokenScope, User

STAFF_ROLE_CHOICES = [(value, label) for value, label in Role.choices if value in STAFF_ROLES]


class InviteStaffForm(AccessibleForm):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    role = forms.ChoiceField(label=_("Role"), choices=STAFF_ROLE_CHOICES)
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("No team"),
        help_text=_("Coaches and therapists see the patients of their team."),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(organization=organization)  # type: ignore[attr-defined]


class ChangeRoleForm(AccessibleForm):
    role = forms.ChoiceField(label=_("New role"), choices=Role.choices)


class SetActiveForm(AccessibleForm):
    active = forms.TypedChoiceField(
        choices=[("1", _("Restore access")), ("0", _("Suspend access"))],
        coerce=lambda value: value == "1",
    )


class ClinicSettingsForm(AccessibleForm):
    name = forms.CharField(label=_("Clinic name"), max_length=200)
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        help_text=_("An IANA time zone name, such as America/New_York or Europe/Helsinki."),
    )
    locale = forms.CharField(
        label=_("Locale"), max_length=16, help_text=_("Such as en-US: used for dates and numbers.")
    )
    crisis_resources = forms.CharField(
        label=_("Crisis resources"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Shown to patients at once when an answer suggests risk of self-harm."),
    )


class CreateTokenForm(AccessibleForm):
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_("What will use this token, for example “EHR nightly sync”."),
    )
    scope = forms.ChoiceField(
        label=_("Access"), choices=TokenScope.choices, initial=TokenScope.READ
    )


class NewAccountPasswordForm(AccessibleForm, SetPasswordForm):
    """A new person's name and first password (the sign-in side's SetPasswordForm, with
    the same validators as every other password in Trellis)."""

    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    field_order = ["full_name", "new_password1", "new_password2"]

    def __init__(self, data: Any = None, *, email: str, full_name: str = "") -> None:
        # An unsaved user, so the similarity check compares the password with who they are.
        super().__init__(
            User(email=email, full_name=full_name), data, initial={"full_name": full_name}
        )
        self.fields["new_password1"].label = _("Choose a password")


class ExistingAccountForm(AccessibleForm):
    """Someone who already has a Trellis account confirms it is theirs with its password.

    The password is checked by the sign-in service, and failures count against where they
    come from exactly as they do on the sign-in page (trellis.accounts.throttle)."""

    password = forms.CharField(
        label=_("Your current Trellis password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
