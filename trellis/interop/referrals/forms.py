"""The clinic admin's referral forms: the file to upload, and the clinic's settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import AccessibleForm
from trellis.accounts.models import CLINICAL_ROLES, Organization, User
from trellis.care.models import SupportLevel
from trellis.programs.models import Program


class UploadForm(AccessibleForm):
    file = forms.FileField(
        label=_("Referrals file (CSV)"),
        help_text=_(
            "UTF-8, comma separated, with a header line. Required columns: "
            "identifier_system, identifier_value, email."
        ),
        error_messages={"required": _("Choose a CSV file to upload.")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ReferralSettingsForm(AccessibleForm):
    inviter = forms.ModelChoiceField(
        label=_("Invite referred patients in the name of"),
        queryset=User.objects.none(),
        required=False,
        help_text=_(
            "A coach, therapist or supervisor. The invitation e-mail names them, and they "
            "become the patient's first supporter unless the patient is self-guided."
        ),
        empty_label=_("Nobody chosen (referrals are refused)"),
    )
    default_program = forms.ModelChoiceField(
        label=_("Program when a referral names none"),
        queryset=Program.objects.filter(versions__isnull=False).distinct(),
        required=False,
        empty_label=_("None (every referral must name one)"),
    )
    default_support_level = forms.ChoiceField(
        label=_("Level of support when a referral names none"),
        choices=SupportLevel.choices,
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inviter = self.fields["inviter"]
        assert isinstance(inviter, forms.ModelChoiceField)
        inviter.queryset = User.objects.filter(
            memberships__organization=organization,
            memberships__role__in=CLINICAL_ROLES,
            memberships__is_active=True,
            is_active=True,
        ).order_by("full_name")
