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
