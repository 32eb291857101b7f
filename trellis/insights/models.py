"""Alerts that point human support to where it is needed, each with the reason in words."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class AlertKind(models.TextChoices):
    SAFETY = "safety", _("Safety")
    WALKTHROUGH = "walkthrough", _("Offer a walkthrough")
    TRIAGE = "triage", _("Confirm support level")
    DETERIORATION = "deterioration", _("Reliable deterioration")


class Severity(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")
    DISMISSED = "dismissed", _("Dismissed")


class Alert(TimestampedModel):
    """Something about one enrollment that a clinician should look at, and what they did."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="alerts"
    )
    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.PROTECT, related_name="alerts"
    )
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    reason = models.CharField(max_length=300, help_text=_("Why, in plain words."))
    data = models.JSONField(default=dict, help_text=_("The facts behind the alert."))
    state = models.CharField(max_length=14, choices=AlertState.choices, default=AlertState.OPEN)
    assigned_to = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    safety_event = models.ForeignKey(
        "measures.SafetyEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
    )
    raised_at = models.DateTimeField()
    escalate_after = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action_note = EncryptedTextField(blank=True, default="")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # One alert per safety event, however many times (or workers) handle it.
            models.UniqueConstraint(
                fields=["safety_event"],
                condition=Q(safety_event__isnull=False),
                name="insights_one_alert_per_safety_event",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "state", "severity"], name="insights_alert_inbox"),
            models.Index(fields=["state", "escalate_after"], name="insights_alert_escalate"),
            models.Index(fields=["enrollment", "state"], name="insights_alert_by_enr"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason}"
