"""Alerts that point human support to where it is needed, each with the reason in words."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trellis.care.models import SupportLevel
from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class AlertKind(models.TextChoices):
    SAFETY = "safety", _("Safety")
    WALKTHROUGH = "walkthrough", _("Offer a walkthrough")
    TRIAGE = "triage", _("Confirm support level")
    DETERIORATION = "deterioration", _("Reliable deterioration")
    INACTIVITY = "inactivity", _("No recent activity")
    MISSED_SESSION = "missed_session", _("Missed session")
    UNANSWERED_MESSAGE = "unanswered_message", _("Message waiting for a reply")
    NO_IMPROVEMENT = "no_improvement", _("No reliable improvement")
    STEP_CHANGE = "step_change", _("Change the level of support")
    DROPOUT_RISK = "dropout_risk", _("At risk of stopping")


# The kinds a clinic can switch on and off, or tune, per support level.
RULE_KINDS = (
    AlertKind.INACTIVITY,
    AlertKind.UNANSWERED_MESSAGE,
    AlertKind.DETERIORATION,
    AlertKind.NO_IMPROVEMENT,
    AlertKind.MISSED_SESSION,
)


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


class SafetyEvent(TimestampedModel):
    """An answer that suggests risk of self-harm (or a clinic's own safety rule) was given.

    Stored even when the rest of the questionnaire turns out to be invalid.
    """

    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.PROTECT, related_name="safety_events"
    )
    # The questionnaire response the answer came with, once it is stored (the safety event
    # is stored first, so that a safety answer survives an otherwise invalid response).
    response_id = models.UUIDField(null=True, blank=True)
    instrument = models.CharField(max_length=40)
    item = models.CharField(max_length=40)
    value = models.SmallIntegerField()
    rule = models.CharField(max_length=80, help_text=_("Which safety rule fired."))
    occurred_at = models.DateTimeField()
    client_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "client_id", "rule"],
                condition=Q(client_id__isnull=False),
                name="measures_safety_once_per_submission",
            )
        ]
        # The table keeps the name it had when safety events lived in trellis.measures.
        db_table = "measures_safetyevent"

    def __str__(self) -> str:
        return f"Safety event: {self.instrument} {self.item}={self.value}"


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
    reason = EncryptedTextField(max_length=300, help_text=_("Why, in plain words."))
    data = models.JSONField(default=dict, help_text=_("The facts behind the alert."))
    state = models.CharField(max_length=14, choices=AlertState.choices, default=AlertState.OPEN)
    assigned_to = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    safety_event = models.ForeignKey(
        SafetyEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
    )
    raised_at = models.DateTimeField()
    # When the condition behind a rule alert began (the last activity before a silence, the
    # patient message still waiting, the latest score): a closed alert stops the same
    # condition from being raised again, while a new one (a later message) is raised.
    condition_since = models.DateTimeField(null=True, blank=True)
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
    close_reason = EncryptedTextField(max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # One alert per safety event, however many times (or workers) handle it.
            models.UniqueConstraint(
                fields=["safety_event"],
                condition=Q(safety_event__isnull=False),
                name="insights_one_alert_per_safety_event",
            ),
            # One live (open or acknowledged) alert per kind per enrollment, whatever the
            # number of workers evaluating the rules. Safety alerts are one per answer.
            models.UniqueConstraint(
                fields=["enrollment", "kind"],
                condition=Q(state__in=["open", "acknowledged"]) & ~Q(kind="safety"),
                name="insights_one_live_alert_per_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "state", "severity"], name="insights_alert_inbox"),
            models.Index(fields=["state", "escalate_after"], name="insights_alert_escalate"),
            models.Index(fields=["enrollment", "state"], name="insights_alert_by_enr"),
        ]
        # The tables keep the names they had when alerts lived in trellis.insights.
        db_table = "insights_alert"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reason}"


class AlertRuleSetting(TimestampedModel):
    """A clinic's own setting for one alert rule: on or off, and its threshold (days for
    inactivity and unanswered messages, weeks for no improvement), for one support level
    or (blank) every level. Without a row the rule's default applies."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="alert_rule_settings"
    )
    kind = models.CharField(max_length=24, choices=AlertKind.choices)
    support_level = models.CharField(
        max_length=24,
        choices=SupportLevel.choices,
        blank=True,
        help_text=_("Blank: every level of support."),
    )
    enabled = models.BooleanField(default=True)
    threshold = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Days or weeks, as the rule says; blank: default.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "support_level"], name="insights_rule_once"
            )
        ]
        db_table = "insights_alertrulesetting"

    def __str__(self) -> str:
        return f"{self.kind} ({self.support_level or 'all'}) at {self.organization_id}"
