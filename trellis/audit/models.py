"""The append-only, sealed and chained record of who did what to whose data."""

from __future__ import annotations

import uuid

from django.db import models

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One audited action. Rows are only ever inserted; each carries the seal of the previous.

    `hash` is the event's seal: an HMAC-SHA-256 under the audit key named by `key_id`
    (trellis.audit.chain.seal). Events written before the chain was keyed have an empty
    `key_id` and a plain SHA-256 there instead.

    Actor, patient and organization are kept as plain identifiers (no foreign keys), so
    the trail outlives the rows it describes and cannot be cascaded away.
    """

    id = models.BigAutoField(primary_key=True)  # the chain order
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    actor_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    organization_id = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.UUIDField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["patient_id", "occurred_at"], name="audit_by_patient"),
            models.Index(fields=["actor_id", "occurred_at"], name="audit_by_actor"),
            models.Index(fields=["organization_id", "occurred_at"], name="audit_by_org"),
            models.Index(fields=["action", "occurred_at"], name="audit_by_action"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_label or 'system'}"


class AuditChainHead(models.Model):
    """A single row locked by every writer, so the chain is extended one event at a time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain head at event {self.last_event_id}"
