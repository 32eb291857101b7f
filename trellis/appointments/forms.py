"""Forms of the session pages. They only parse; the rules live in services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trellis.appointments.models import Mode
from trellis.core.timeutil import validate_day

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class BookForm(forms.Form):
    supporter = forms.UUIDField(widget=forms.HiddenInput)
    starts_at = forms.DateTimeField(widget=forms.HiddenInput, validators=[validate_day])
    mode = forms.ChoiceField(label=_("How would you like to meet?"), choices=Mode.choices)
    client_id = forms.UUIDField(widget=forms.HiddenInput)


class DayForm(forms.Form):
    """The day picked on the way to booking (`?day=2026-12-09`)."""

    day = forms.DateField(validators=[validate_day])


class ChooseTimeForm(forms.Form):
    """The time picked on the way to booking, before the patient confirms it."""

    supporter = forms.UUIDField()
    starts_at = forms.DateTimeField(validators=[validate_day])


class RescheduleForm(forms.Form):
    starts_at = forms.DateTimeField(widget=forms.HiddenInput, validators=[validate_day])
    client_id = forms.UUIDField(widget=forms.HiddenInput)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=300)


class SlotForm(forms.Form):
    weekday = forms.TypedChoiceField(label=_("Day"), choices=WEEKDAYS, coerce=int)
    start_time = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end_time = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))
    session_minutes = forms.IntegerField(
        label=_("Minutes per session"), min_value=10, max_value=240, initial=50
    )
    time_zone = forms.CharField(label=_("Time zone"), max_length=64)
    valid_from = forms.DateField(
        label=_("First day"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_day],
    )
    valid_until = forms.DateField(
        label=_("Last day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_day],
    )
    mode = forms.ChoiceField(
        label=_("Only this way to meet"),
        required=False,
        choices=[("", _("Any way I offer")), *Mode.choices],
    )


class ExceptionForm(forms.Form):
    day = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_day]
    )
    start_time = forms.TimeField(
        label=_("From"),
        required=False,
        help_text=_("Leave both times empty for the whole day."),
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    end_time = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    reason = forms.CharField(label=_("Note for yourself"), required=False, max_length=200)


class OptionsForm(forms.Form):
    allowed_modes = forms.MultipleChoiceField(
        label=_("Ways I meet patients"),
        choices=Mode.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    video_link = forms.URLField(label=_("My video room link"), required=False, max_length=300)
    place = forms.CharField(
        label=_("Where I see patients in person"), required=False, max_length=300
    )


class AttendanceForm(forms.Form):
    attended = forms.TypedChoiceField(
        label=_("Did the patient come?"),
        choices=[("yes", _("Attended")), ("no", _("Missed"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    minutes = forms.IntegerField(
        label=_("Minutes of support"), required=False, min_value=1, max_value=600
    )
