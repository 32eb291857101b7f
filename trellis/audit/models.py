"""The append-only, sealed and chained record of who did what to whose data."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Now

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One audited action. Rows are only ever inserted.

    `hash` is the event's own seal: an HMAC-SHA-256 under the audit key named by `key_id`
    over its content (trellis.audit.chain.seal_row), written with the row. The sealer puts
    the event into the chain shortly after it commits (an AuditLink); until then an
    AuditPending row says it waits (docs/audit.md).

    Events written before the sealer (earlier versions) were chained as they were written
    and carry the previous event's seal in `prev_hash`: a keyed seal over it
    (trellis.audit.chain.seal) or, from before the chain was keyed, an empty `key_id` and a
    plain SHA-256. Events sealed by the sealer have an empty `prev_hash`.

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


class AuditLink(models.Model):
    """One event's place in the chain, written by the sealer and only ever inserted.

    `mac` is an HMAC-SHA-256 under the audit key `key_id` over the previous link's mac, the
    event's id and the event's own seal (trellis.audit.chain.seal_link); `position` counts
    the events in the chain up to and including this one, events chained before the sealer
    included.
    """

    position = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="link")
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"link {self.position}: event #{self.event_id}"


class AuditPending(models.Model):
    """An event committed and waiting for the sealer, which removes this row as it links it.

    Written in the same transaction as the event, so every event is either linked or
    waiting; `trellis audit verify` fails on one that is neither.
    """

    event = models.OneToOneField(
        AuditEvent, on_delete=models.PROTECT, primary_key=True, related_name="pending"
    )
    queued_at = models.DateTimeField(db_default=Now())

    def __str__(self) -> str:
        return f"event #{self.event_id} waiting to be sealed"


class AuditChainHead(models.Model):
    """The chain's end: the last linked event, its mac and its position. A single row,
    locked only by the sealer (never by the writers of events)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    last_position = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit chain head at event {self.last_event_id}"
