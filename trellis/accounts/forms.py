"""Forms for signing in and looking after one's own password and two-step verification.

`SetPasswordForm` is shared: the invitation page (clinic side) uses it to let a new
person choose their first password, with the same validators as everywhere else.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from trellis.accounts.models import User
from trellis.core.errors import add_to_form

PASSWORD_MAX_LENGTH = 4096  # refuse absurd input before it reaches the (slow) hasher


def _password_widget(autocomplete: str) -> forms.PasswordInput:
    return forms.PasswordInput(attrs={"autocomplete": autocomplete})


class SetPasswordForm(forms.Form):
    """Choose a new password, typed twice; Django's password validators apply.

    `user` may be an unsaved User (for example one built from an invitation's email
    and name) so the similarity check still compares the password with who they are.
    The form saves nothing: the calling service sets the password. Read the chosen
    password from `form.password` once the form is valid.
    """

    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=_password_widget("new-password"),
        help_text=_(
            "At least 10 characters. Avoid common passwords, only numbers, "
            "or anything close to your name or email address."
        ),
    )
    new_password2 = forms.CharField(
        label=_("New password again"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=_password_widget("new-password"),
        help_text=_("Type the same password again, so we know it is what you meant."),
    )

    def __init__(self, user: User | None = None, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_password2(self) -> str:
        first = self.cleaned_data.get("new_password1")
        second: str = self.cleaned_data.get("new_password2", "")
        if first and second and first != second:
            raise forms.ValidationError(
                _("The two passwords are not the same. Please type them again."),
                code="password_mismatch",
            )
        return second

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("new_password2")
        if password and not self.has_error("new_password2"):
            try:
                password_validation.validate_password(password, self.user)
            except forms.ValidationError as error:
                self.add_error("new_password1", error)
        return cleaned

    @property
    def password(self) -> str:
        """The chosen password (only once the form is valid)."""
        return str(self.cleaned_data["new_password1"])


class LoginForm(forms.Form):
    """Email and password. Whether they match is decided by the sign-in service."""

    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=_password_widget("current-password"),
    )


class CodeForm(forms.Form):
    """A six-digit authenticator code (or, where allowed, a recovery code)."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}
        ),
    )

    def __init__(
        self, *args: Any, allow_recovery: bool = True, label: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        if label:
            field.label = label
        if allow_recovery:
            field.help_text = _(
                "The 6-digit code your authenticator app shows now, or one of your "
                "recovery codes (such as abcde-fghjk)."
            )
        else:
            field.help_text = _("The 6-digit code your authenticator app shows now.")
            field.widget.attrs["inputmode"] = "numeric"


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("The address you sign in with."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PasswordChangeForm(SetPasswordForm):
    """The current password, then the new one twice."""

    field_order = ["old_password", "new_password1", "new_password2"]

    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=_password_widget("current-password"),
    )

    def clean_old_password(self) -> str:
        old: str = self.cleaned_data.get("old_password", "")
        if self.user is None or not self.user.check_password(old):
            raise forms.ValidationError(
                _("That is not your current password. Please type it again."),
                code="password_incorrect",
            )
        return old


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

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError next to the field it names."""
        add_to_form(self, error)
