"""Reaching out: reminder rules, decision points, deliveries through channels, and the
person's own say (push subscriptions, in-app notifications, blocks such as STOP).

The path of a nudge: a rule (data, per clinic and program) reaches a decision point for an
enrollment in a period; the decision point records whether the patient was available, the
probability of sending, the random draw and the action; a sent action becomes one delivery
per channel; 24 hours later the decision point records the proximal outcome.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")
    PUSH = "push", _("Notification on this device")
    IN_APP = "in_app", _("In Trellis")


class RuleKind(models.TextChoices):
    EXERCISE_TODAY = "exercise_today", _("Today's exercise")
    QUESTIONNAIRE_DUE = "questionnaire_due", _("A questionnaire is due")
    QUESTIONNAIRE_OVERDUE = "questionnaire_overdue", _("A questionnaire is overdue")
    APPOINTMENT_24H = "appointment_24h", _("A live session tomorrow (24 hours before)")
    APPOINTMENT_1H = "appointment_1h", _("A live session soon (1 hour before)")
    INACTIVITY = "inactivity", _("No activity for a few days")
    MESSAGE_WAITING = "message_waiting", _("A message from the care team is waiting")
    WEEKLY_SUMMARY = "weekly_summary", _("Your week (for patients who ask for it)")
    SUPPORTER_DIGEST = "supporter_digest", _("What needs a supporter (digest)")


class DigestFrequency(models.TextChoices):
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")


class OutreachSettings(TimestampedModel):
    """A clinic's limits for every nudge: the hours it may reach people and the caps."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="outreach_settings"
    )
    allowed_from = models.TimeField(
        default=time(8, 0), help_text=_("Earliest time a nudge may arrive (the patient's zone).")
    )
    allowed_until = models.TimeField(
        default=time(21, 0), help_text=_("Latest time a nudge may arrive (the patient's zone).")
    )
    daily_cap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    weekly_cap = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )

    def clean(self) -> None:
        if self.allowed_from == self.allowed_until:
            raise ValidationError(_("The allowed hours must not start and end at the same time."))
        if self.daily_cap and self.weekly_cap and self.daily_cap > self.weekly_cap:
            raise ValidationError(_("The daily cap cannot be above the weekly cap."))

    def __str__(self) -> str:
        return f"Outreach settings of {self.organization}"


class ReminderRule(TimestampedModel):
    """When and how a clinic nudges: one row per (clinic, program, kind).

    `program_key` blank means every program of the clinic; a row for one program
    overrides it. `send_probability` below 1 runs a micro-randomized trial of the rule.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="reminder_rules"
    )
    program_key = models.CharField(
        max_length=80, blank=True, help_text=_("Blank: every program of the clinic.")
    )
    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    enabled = models.BooleanField(default=True)
    send_at = models.TimeField(
        null=True,
        blank=True,
        help_text=_("Local time to send, for daily rules; blank: the patient's chosen time."),
    )
    window_from = models.TimeField(
        default=time(9, 0), help_text=_("This rule sends no earlier than (the patient's zone).")
    )
    window_until = models.TimeField(
        default=time(20, 0), help_text=_("This rule sends no later than (the patient's zone).")
    )
    inactivity_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    digest_frequency = models.CharField(max_length=8, choices=DigestFrequency.choices, blank=True)
    send_probability = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("Below 1 runs a micro-randomized trial: each decision is a random draw."),
    )
    channels = models.JSONField(
        default=list, blank=True, help_text=_("Blank: the channels the patient chose.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "program_key", "kind"], name="nudges_rule_once"
            )
        ]
        ordering = ["organization", "program_key", "kind"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.program_key or 'every program'})"


class Action(models.TextChoices):
    SEND = "send", _("Send")
    HOLD = "hold", _("Hold back")
    NONE = "none", _("Not available")


class DecisionPoint(models.Model):
    """One moment a rule could nudge one enrollment: the claim key is (rule, enrollment, period).

    Available or not (and why), the probability of sending, the random draw, the action,
    and, `OUTCOME_HOURS` later, the proximal outcome: any patient-initiated activity.
    """

    OUTCOME_HOURS = 24

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(ReminderRule, on_delete=models.PROTECT, related_name="decisions")
    enrollment = models.ForeignKey(
        "care.Enrollment", on_delete=models.CASCADE, related_name="nudge_decisions"
    )
    period = models.CharField(max_length=64, help_text=_("The rule's period, e.g. a date."))
    decided_at = models.DateTimeField()
    available = models.BooleanField()
    unavailable_reason = models.CharField(max_length=64, blank=True)
    probability = models.DecimalField(max_digits=4, decimal_places=3)
    draw = models.FloatField(null=True, blank=True, help_text=_("The uniform random draw."))
    action = models.CharField(max_length=8, choices=Action.choices)
    outcome_due_at = models.DateTimeField()
    outcome_active = models.BooleanField(null=True, blank=True)
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "enrollment", "period"], name="nudges_decision_once"
            )
        ]
        indexes = [
            models.Index(fields=["outcome_recorded_at", "outcome_due_at"], name="nudges_dp_due"),
            models.Index(fields=["enrollment", "decided_at"], name="nudges_dp_by_enr"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.kind} for {self.enrollment_id} in {self.period}: {self.action}"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent")


class Delivery(TimestampedModel):
    """One message through one channel to one person; `key` makes it happen at most once."""

    key = models.CharField(max_length=160, unique=True)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    recipient = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="deliveries"
    )
    enrollment = models.ForeignKey(
        "care.Enrollment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    decision = models.ForeignKey(
        DecisionPoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    appointment_id = models.UUIDField(
        null=True, blank=True, help_text=_("The live session an appointment text is about.")
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    template = models.CharField(max_length=40)
    context = models.JSONField(
        default=dict, blank=True, help_text=_("Template values; never clinical details.")
    )
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    reason = models.CharField(max_length=80, blank=True, help_text=_("Why not sent, or failed."))
    provider_id = models.CharField(max_length=120, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(help_text=_("Send no earlier than this."))
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Not worth sending after this.")
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    # The worker's lease (docs/nudges-worker.md): a worker that claimed this delivery and
    # until when; another worker takes it over only after `claimed_until` has passed.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="nudges_delivery_due"),
            models.Index(
                fields=["not_before"],
                condition=models.Q(status="queued"),
                name="nudges_delivery_queued",
            ),
            models.Index(fields=["recipient", "created_at"], name="nudges_delivery_by_person"),
            models.Index(fields=["channel", "provider_id"], name="nudges_delivery_provider"),
            models.Index(fields=["organization", "created_at"], name="nudges_delivery_by_org"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.template} by {self.channel}: {self.status}"


class PushSubscription(TimestampedModel):
    """A browser's web-push endpoint for one person (removed when the service says gone)."""

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=800, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=200, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Push subscription of {self.user_id}"


class Notification(TimestampedModel):
    """An in-app notification: what the person reads on their notifications page."""

    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="notifications"
    )
    delivery = models.OneToOneField(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="notification"
    )
    title = models.CharField(max_length=140)
    body = models.CharField(max_length=400, blank=True)
    link = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "read_at"], name="nudges_notif_unread")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class BlockReason(models.TextChoices):
    STOP = "stop", _("Replied STOP")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    PERMANENT_FAILURE = "permanent_failure", _("The address does not work")


class ContactBlock(TimestampedModel):
    """A person may not be reached on a channel (blank channel: on any channel) until lifted."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(
        max_length=8, choices=Channel.choices, blank=True, help_text=_("Blank: every channel.")
    )
    reason = models.CharField(max_length=20, choices=BlockReason.choices)
    detail = models.CharField(max_length=200, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "lifted_at"], name="nudges_block_active")]

    def __str__(self) -> str:
        return f"{self.reason} on {self.channel or 'every channel'}"


class InboundText(TimestampedModel):
    """A text message a person sent to the clinic's number, and what Trellis did with it."""

    provider_id = models.CharField(max_length=120, unique=True)
    from_hash = models.CharField(
        max_length=64, db_index=True, help_text=_("Keyed hash of the sender's number.")
    )
    user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = EncryptedTextField(blank=True, default="")
    word = models.CharField(max_length=16, blank=True, help_text=_("The reply word understood."))
    appointment_id = models.UUIDField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Text {self.word or '?'} received {self.received_at.isoformat()}"


class PhoneIndex(models.Model):
    """Keyed hash of a person's phone number, so an inbound text finds its sender."""

    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="+")
    number_hash = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return f"Phone index of {self.user_id}"
