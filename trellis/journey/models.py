"""What a patient does each day: step progress, journal, mood check-ins, and the event log."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trellis.core.fields import EncryptedJSONField, EncryptedTextField
from trellis.core.models import TimestampedModel


class ProgressStatus(models.TextChoices):
    STARTED = "started", _("Started")
    COMPLETED = "completed", _("Completed")


class StepProgress(TimestampedModel):
    """How far one enrollment has got with one step. One row per (enrollment, step)."""

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="progress"
    )
    step = models.ForeignKey("programs.Step", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=ProgressStatus.choices)
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("How helpful was this? 1-5")
    )
    response = EncryptedJSONField(null=True, blank=True, help_text=_("What the patient entered."))
    completion_client_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="journey_progress_once"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="journey_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step} ({self.status})"


class JournalEntry(TimestampedModel):
    """Free writing, encrypted. Shared with the care team only if the patient chooses."""

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="journal"
    )
    body = EncryptedTextField()
    shared_with_care_team = models.BooleanField(default=False)
    step = models.ForeignKey(
        "programs.Step", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    client_id = models.UUIDField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "client_id"], name="journey_journal_once")
        ]

    def __str__(self) -> str:
        return f"Journal entry {self.pk}"


class MoodCheckIn(TimestampedModel):
    """A 1-10 mood rating with an optional (encrypted) note."""

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="moods"
    )
    score = models.PositiveSmallIntegerField()
    note = EncryptedTextField(blank=True, default="")
    client_id = models.UUIDField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "client_id"], name="journey_mood_once"),
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=10), name="journey_mood_1_to_10"
            ),
        ]

    def __str__(self) -> str:
        return f"Mood {self.score}"


class EventType(models.TextChoices):
    LOGIN = "login", _("Signed in")
    STEP_VIEWED = "step_viewed", _("Opened a step")
    STEP_STARTED = "step_started", _("Started a step")
    STEP_COMPLETED = "step_completed", _("Completed a step")
    EXERCISE_RATED = "exercise_rated", _("Rated a step")
    ACTIVITY_DONE = "activity_done", _("Did a planned activity")
    JOURNAL_ENTRY = "journal_entry", _("Wrote in the journal")
    MOOD_CHECKIN = "mood_checkin", _("Checked in mood")
    SIMPLE_MODE_CHANGED = "simple_mode_changed", _("Changed simple mode")
    QUESTIONNAIRE_DUE = "questionnaire_due", _("A questionnaire became due")
    QUESTIONNAIRE_SUBMITTED = "questionnaire_submitted", _("Answered a questionnaire")
    QUESTIONNAIRE_OVERDUE = "questionnaire_overdue", _("A questionnaire became overdue")
    SAFETY_EVENT = "safety_event", _("Gave an answer that raised a safety alert")
    APPOINTMENT_BOOKED = "appointment_booked", _("Booked a live session")
    APPOINTMENT_CANCELLED = "appointment_cancelled", _("A live session was cancelled")
    APPOINTMENT_ATTENDED = "appointment_attended", _("Attended a live session")
    APPOINTMENT_MISSED = "appointment_missed", _("Missed a live session")
    MESSAGE_SENT = "message_sent", _("Sent a message to the care team")


class EngagementEvent(models.Model):
    """One patient action. Append-only; the single source for engagement analytics.

    Columns follow the interchange format in docs/events.md: enrollment, time (UTC),
    type, step kind, duration in seconds, and a value (a rating, a mood score...).
    """

    id = models.BigAutoField(primary_key=True)
    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="events"
    )
    occurred_at = models.DateTimeField()
    type = models.CharField(max_length=40)
    step_kind = models.CharField(max_length=40, blank=True)
    step_key = models.CharField(max_length=80, blank=True)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    value = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["enrollment", "occurred_at"], name="journey_event_by_enr"),
            models.Index(fields=["type", "occurred_at"], name="journey_event_by_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at.isoformat()}"


class Submission(models.Model):
    """A client-generated id already acted on, with the answer it got: repeats get the same."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    client_id = models.UUIDField()
    kind = models.CharField(max_length=40)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "client_id"], name="journey_submission_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.client_id}"
