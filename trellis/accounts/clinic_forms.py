"""Forms for running a clinic: inviting staff, roles, clinic settings, API tokens,
and accepting an invitation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import SetPasswordForm
from trellis.accounts.models import STAFF_ROLES, Organization, Role, Team, TokenScope, User

STAFF_ROLE_CHOICES = [(value, label) for value, label in Role.choices if value in STAFF_ROLES]


class AccessibleForm(forms.Form):
    """Ties each field's error list and help text to the field with aria-describedby."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"{self.add_prefix(name)}-hint"

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)
        # Every error (field checks, clean(), a service's) arrives here, so each field
        # with an error is tied to its message for screen readers.
        for name in self.errors:
            if name not in self.fields:
                continue
            widget = self.fields[name].widget
            error_id = f"{self.add_prefix(name)}-error"
            described = widget.attrs.get("aria-describedby", "").split()
            if error_id not in described:
                widget.attrs["aria-describedby"] = " ".join([*described, error_id])
            widget.attrs["aria-invalid"] = "true"

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
        from trellis.accounts.models import CLINICAL_ROLES
        from trellis.care.models import SupportLevel
        from trellis.programs.models import Program

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

    The password is checked by the sign-in service, so failures count towards the
    account's lockout exactly as they do on the sign-in page."""

    password = forms.CharField(
        label=_("Your current Trellis password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
