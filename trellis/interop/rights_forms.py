"""Forms of the data-rights pages: the clinic's settings, refusing or erasing, asking for
erasure, and the research export."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.accounts.forms import AccessibleForm
from trellis.interop.research.files import Format
from trellis.interop.retention import MAX_K, MAX_RETENTION_DAYS, MIN_K, MIN_RETENTION_DAYS


class DataRightsForm(AccessibleForm):
    retention_days = forms.IntegerField(
        label=_("Days a record is kept after the last program ended"),
        min_value=MIN_RETENTION_DAYS,
        max_value=MAX_RETENTION_DAYS,
        help_text=_(
            "Then the record is erased by the nightly job. 2,190 days is six years, the "
            "time HIPAA asks documentation to be kept; state law may ask for longer."
        ),
    )
    erasure_on_request = forms.BooleanField(
        label=_("Patients may ask for their record to be erased"),
        required=False,
        help_text=_("An admin still decides each request."),
    )
    research_k = forms.IntegerField(
        label=_("Smallest group a research export may describe (k)"),
        min_value=MIN_K,
        max_value=MAX_K,
        help_text=_("An export is refused if any group of similar patients is smaller."),
    )


class ReasonForm(AccessibleForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The patient reads this."),
    )


class EraseForm(AccessibleForm):
    confirm = forms.BooleanField(
        label=_("I understand that the record is erased for good and cannot be restored"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class VerbalErasureForm(EraseForm):
    email = forms.EmailField(label=_("The patient's e-mail address"))
    reason = forms.CharField(
        label=_("How the patient asked"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: by phone on 3 March, identity checked with date of birth."),
    )
    field_order = ["email", "reason", "confirm"]


class ErasureRequestForm(AccessibleForm):
    confirm = forms.BooleanField(
        label=_("I want my record at this clinic to be erased"),
        error_messages={"required": _("Tick the box to confirm.")},
    )


class ResearchExportForm(AccessibleForm):
    format = forms.ChoiceField(
        label=_("File format"),
        choices=[(Format.CSV.value, _("CSV")), (Format.PARQUET.value, _("Parquet"))],
        initial=Format.CSV.value,
        widget=forms.RadioSelect,
    )
