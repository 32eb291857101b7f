"""Questionnaires: what is due when, what the patient answered, and safety events."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trellis.core.models import TimestampedModel


class Occasion(models.TextChoices):
    BASELINE = "baseline", _("Before starting")
    WEEKLY = "weekly", _("Weekly check-in")
    PROGRAM_STEP = "program_step", _("Part of the program")
    END = "end", _("End of the program")
    FOLLOW_UP = "follow_up", _("Three-month follow-up")
    ONBOARDING = "onboarding", _("Getting started")


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("Not yet answered")
    COMPLETED = "completed", _("Answered")
    OVERDUE = "overdue", _("Overdue")
    CANCELLED = "cancelled", _("No longer needed")


class QuestionnaireAssignment(TimestampedModel):
    """One questionnaire a patient is asked to answer, with its availability window.

    `due_from` and `overdue_after` are instants computed from local dates and times in
    the patient's time zone, so "Monday 9:00" stays 9:00 across daylight-saving changes.
    A questionnaire can still be answered after `overdue_after` until `closes_at`.
    """

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="questionnaires"
    )
    instrument = models.CharField(max_length=40)
    occasion = models.CharField(max_length=20, choices=Occasion.choices)
    sequence = models.PositiveSmallIntegerField(default=0, help_text=_("Week number, etc."))
    step = models.ForeignKey(
        "programs.Step", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_from = models.DateTimeField()
    overdue_after = models.DateTimeField()
    closes_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING
    )
    due_event_written = models.BooleanField(default=False)
    overdue_event_written = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "instrument", "occasion", "sequence"],
                name="measures_assignment_once",
            )
        ]
        indexes = [
            models.Index(fields=["status", "overdue_after"], name="measures_assign_overdue"),
            models.Index(fields=["enrollment", "status"], name="measures_assign_by_enr"),
            # A submission answers the patient's earliest open questionnaire of its instrument
            # and settles the others open: only open ones are in it, so neither reads past the
            # patient's answered and cancelled history.
            models.Index(
                fields=["enrollment", "instrument", "due_from"],
                condition=models.Q(status__in=[AssignmentStatus.PENDING, AssignmentStatus.OVERDUE]),
                name="measures_assign_open_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} ({self.occasion} {self.sequence})"


class QuestionnaireResponse(TimestampedModel):
    """A completed questionnaire and its score. Answers are item id -> chosen value."""

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="responses"
    )
    assignment = models.OneToOneField(
        QuestionnaireAssignment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="response",
    )
    instrument = models.CharField(max_length=40)
    answers = models.JSONField(default=dict)
    total = models.PositiveSmallIntegerField(null=True, blank=True)
    prorated = models.BooleanField(default=False)
    band = models.CharField(max_length=40, blank=True)
    submitted_at = models.DateTimeField()
    client_id = models.UUIDField()

    class Meta:
        ordering = ["submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "client_id"], name="measures_response_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["enrollment", "instrument", "submitted_at"], name="measures_resp_series"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument} = {self.total}"
