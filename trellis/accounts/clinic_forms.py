"""Forms for running a clinic: inviting staff, roles, clinic settings, API tokens,
and accepting an invitation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from trellis.accounts.models import STAFF_ROLES, Organization, Role, Team, TokenScope, User

STAFF_ROLE_CHOICES = [(value, label) for value, label in Role.choices if value in STAFF_ROLES]


class AccessibleForm(forms.Form):
    """Ties each field's error list and help text to the field with aria-describedby."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            described = []
            if field.help_text:
                described.append(f"{self.prefix + '-' if self.prefix else ''}{name}-hint")
            if self.is_bound and name in self.errors:
                described.append(f"{self.prefix + '-' if self.prefix else ''}{name}-error")
                field.widget.attrs["aria-invalid"] = "true"
            if described:
                field.widget.attrs["aria-describedby"] = " ".join(described)

    def add_service_errors(self, error: Any) -> None:
        """Show a service's ValidationError next to the field it names."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                target = field if field in self.fields else None
                for message in messages:
                    self.add_error(target, message)
        else:
            for message in error.messages:
                self.add_error(None, message)


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


class NewAccountPasswordForm(AccessibleForm):
    """Choose a password for a new account, checked by the clinic's password rules."""

    full_name = forms.CharField(label=_("Your full name"), max_length=200)
    password1 = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters. Avoid common passwords and your own name."),
    )
    password2 = forms.CharField(
        label=_("Type the password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords do not match."))
        elif first:
            candidate = User(email=self.email, full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class ExistingAccountForm(AccessibleForm):
    """Someone who already has a Trellis account confirms it is theirs."""

    password = forms.CharField(
        label=_("Your current Trellis password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.is_active or not self.user.check_password(password):
            raise forms.ValidationError(_("That password is not right for this account."))
        return password
