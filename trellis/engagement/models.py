"""The engagement event log (one row per patient action) and the submission registry."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    REMINDER_SENT = "reminder_sent", _("A reminder was sent")
    REMINDER_OPENED = "reminder_opened", _("Opened a reminder")
    CARE_TEAM_MESSAGE = "care_team_message", _("The care team wrote to the patient")


# The one list of what the patient did themselves (the rest Trellis writes on its own:
# a questionnaire falling due or overdue, a missed session, a safety event raised from an
# answer, a reminder sent). Activity, inactivity and the proximal outcome of a nudge count
# only these; docs/events.md and docs/nudges.md say the same.
PATIENT_INITIATED: frozenset[str] = frozenset(
    {
        EventType.LOGIN,
        EventType.STEP_VIEWED,
        EventType.STEP_STARTED,
        EventType.STEP_COMPLETED,
        EventType.EXERCISE_RATED,
        EventType.ACTIVITY_DONE,
        EventType.JOURNAL_ENTRY,
        EventType.MOOD_CHECKIN,
        EventType.QUESTIONNAIRE_SUBMITTED,
        EventType.MESSAGE_SENT,
        EventType.APPOINTMENT_ATTENDED,
        EventType.REMINDER_OPENED,
        EventType.SIMPLE_MODE_CHANGED,
    }
)


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
        # The table keeps the name it had when the log lived in trellis.journey.
        db_table = "journey_engagementevent"

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
        db_table = "journey_submission"

    def __str__(self) -> str:
        return f"{self.kind} {self.client_id}"
