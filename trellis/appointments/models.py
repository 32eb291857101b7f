"""Live sessions: when supporters are available, and the sessions patients book."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class WeeklySlot(TimestampedModel):
    """A recurring weekly window when a supporter takes sessions, in their own time zone."""

    supporter = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="slots")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    weekday = models.PositiveSmallIntegerField(help_text=_("0 Monday ... 6 Sunday"))
    start_time = models.TimeField()
    end_time = models.TimeField()
    session_minutes = models.PositiveSmallIntegerField(default=30)
    time_zone = models.CharField(max_length=64)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    mode = models.CharField(
        max_length=12,
        blank=True,
        help_text=_("Blank: the patient chooses from the supporter's allowed ways to meet."),
    )

    class Meta:
        ordering = ["supporter", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="appointments_weekday_0_6"),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="appointments_slot_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supporter} weekday {self.weekday} {self.start_time}-{self.end_time}"


class AvailabilityException(TimestampedModel):
    """A day or part of a day when the usual weekly slots do not apply (leave, a clinic day)."""

    supporter = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="availability_exceptions"
    )
    date = models.DateField()
    start_time = models.TimeField(null=True, blank=True, help_text=_("Blank: the whole day."))
    end_time = models.TimeField(null=True, blank=True)
    # Encrypted: a supporter's reason for a day off can be about their own health.
    reason = EncryptedTextField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.supporter} unavailable {self.date}"


class Mode(models.TextChoices):
    VIDEO = "video", _("Video call")
    PHONE = "phone", _("Phone call")
    IN_PERSON = "in_person", _("In person")


class BookingRules(TimestampedModel):
    """A clinic's rules for booking live sessions; clinics without a row use the defaults."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="booking_rules"
    )
    min_notice_hours = models.PositiveSmallIntegerField(
        default=12, help_text=_("Book at least this many hours ahead.")
    )
    max_days_ahead = models.PositiveSmallIntegerField(
        default=30, help_text=_("Book at most this many days ahead.")
    )
    change_notice_hours = models.PositiveSmallIntegerField(
        default=24, help_text=_("A patient may cancel or reschedule up to this many hours before.")
    )

    def __str__(self) -> str:
        return f"Booking rules of {self.organization}"


class SessionOptions(TimestampedModel):
    """How one supporter meets patients: the allowed ways, their video room and their place."""

    supporter = models.OneToOneField(
        "accounts.User", on_delete=models.CASCADE, related_name="session_options"
    )
    allowed_modes = models.JSONField(
        default=list, help_text=_("Any of video, phone, in_person; empty: all three.")
    )
    video_link = models.URLField(max_length=300, blank=True)
    place = models.CharField(
        max_length=300, blank=True, help_text=_("Where in-person sessions are.")
    )

    def __str__(self) -> str:
        return f"Session options of {self.supporter}"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CANCELLED = "cancelled", _("Cancelled")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("Missed")


class Appointment(TimestampedModel):
    """A live session between a patient (through their enrollment) and a supporter."""

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.PROTECT, related_name="appointments"
    )
    supporter = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    mode = models.CharField(max_length=12, choices=Mode.choices)
    location = models.CharField(max_length=300, blank=True, help_text=_("Video link or place."))
    status = models.CharField(
        max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    booked_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    client_id = models.UUIDField()
    ical_uid = models.CharField(max_length=120, unique=True)
    ical_sequence = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = EncryptedTextField(max_length=300, blank=True)
    rescheduled_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attendance_recorded_at = models.DateTimeField(null=True, blank=True)
    support_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    # The patient's answer to a reminder (a text reply or the link in it), for the supporter.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_via = models.CharField(
        max_length=8, blank=True, help_text=_("How the patient confirmed: sms or link.")
    )
    another_time_requested_at = models.DateTimeField(null=True, blank=True)
    another_time_requested_via = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            # A supporter can never be double-booked: one live booking per start time.
            models.UniqueConstraint(
                fields=["supporter", "starts_at"],
                condition=Q(status="booked"),
                name="appointments_no_double_booking",
            ),
            models.UniqueConstraint(
                fields=["enrollment", "client_id"], name="appointments_booking_once"
            ),
        ]
        indexes = [
            models.Index(fields=["supporter", "starts_at"], name="appointments_by_supporter"),
            models.Index(fields=["enrollment", "starts_at"], name="appointments_by_enr"),
        ]

    def __str__(self) -> str:
        return f"Session {self.starts_at.isoformat()} ({self.status})"
