"""Secure messages between a patient and their care team: one thread per enrollment."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class Thread(TimestampedModel):
    """The one conversation of an enrollment, between the patient and the care team."""

    enrollment = models.OneToOneField(
        "care.Enrollment", on_delete=models.CASCADE, related_name="thread"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Denormalised for the caseload: the oldest patient message still waiting for a reply.
    waiting_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["waiting_since"], name="messaging_thread_waiting")]

    def __str__(self) -> str:
        return f"Thread of {self.enrollment_id}"


class Message(TimestampedModel):
    """One message; the text is encrypted at rest."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    from_patient = models.BooleanField()
    body = EncryptedTextField()
    sent_at = models.DateTimeField()
    client_id = models.UUIDField()
    template_key = models.CharField(max_length=60, blank=True)
    support_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Minutes the supporter spent on this message.")
    )
    read_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the other side first read it.")
    )

    class Meta:
        ordering = ["sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["thread", "client_id"], name="messaging_message_once")
        ]
        indexes = [models.Index(fields=["thread", "sent_at"], name="messaging_msg_by_thread")]

    def __str__(self) -> str:
        return f"Message {self.pk}"


class Gesture(models.TextChoices):
    """Supportive gestures linked to completion and improvement (REFERENCES.md)."""

    TASK_REINFORCEMENT = "task_reinforcement", _("Task reinforcement")
    TASK_PROMPTING = "task_prompting", _("Task prompting")
    SELF_EFFICACY = "self_efficacy", _("Self-efficacy shaping")
    EMPATHY = "empathy", _("Empathy")
    AFFIRMING = "affirming", _("Affirming")


class ReplyTemplate(TimestampedModel):
    """A starting point for a short personal reply, with placeholders filled from the record."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reply_templates",
        help_text=_("Blank: a Trellis default offered to every clinic."),
    )
    key = models.SlugField(max_length=60)
    gesture = models.CharField(max_length=24, choices=Gesture.choices)
    title = models.CharField(max_length=120)
    body = models.TextField(help_text=_("May use {first_name}, {last_exercise}, ... placeholders."))
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["gesture", "title"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="messaging_template_key")
        ]

    def __str__(self) -> str:
        return self.title


class ClinicMessagingSettings(TimestampedModel):
    """A clinic's promise to its patients about replies, shown beside every send form."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="messaging_settings"
    )
    reply_within_working_days = models.PositiveSmallIntegerField(
        default=2,
        help_text=_("The care team usually replies within this many working days."),
    )

    class Meta:
        verbose_name_plural = "clinic messaging settings"

    def __str__(self) -> str:
        return f"Messaging settings of {self.organization_id}"
