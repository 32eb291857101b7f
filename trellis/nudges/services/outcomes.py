"""What a channel or a provider answered for a delivery, retries, failures that stop a
channel and tell the supporters; a nudge opened and notifications read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from trellis import audit
from trellis.accounts.models import User
from trellis.care.queries import supporters_of
from trellis.engagement.events import emit
from trellis.nudges import respect
from trellis.nudges.channels import Outcome, sender_for
from trellis.nudges.messages import render
from trellis.nudges.models import (
    BlockReason,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
)
from trellis.nudges.services.blocks import block
from trellis.nudges.services.queueing import queue_nudge

# ---------------------------------------------------------------------------------------
# Outcomes


def max_attempts() -> int:
    return int(getattr(settings, "TRELLIS_NUDGES_MAX_ATTEMPTS", respect.MAX_ATTEMPTS))


def record_outcome(delivery: Delivery, outcome: Outcome, *, at: datetime) -> Delivery:
    """Record what a channel answered for one delivery (call inside the transaction that
    holds the delivery's row lock)."""
    was_sent = delivery.sent_at is not None
    fields = ["status", "reason", "attempts", "next_attempt_at", "updated_at"]
    delivery.attempts += 1
    delivery.reason = outcome.reason[:80]
    if outcome.provider_id:
        delivery.provider_id = outcome.provider_id[:120]
        fields.append("provider_id")
    if outcome.status in ("sent", "delivered"):
        delivery.status = DeliveryStatus(outcome.status)
        delivery.next_attempt_at = None
        if delivery.sent_at is None:
            delivery.sent_at = at
            fields.append("sent_at")
        if outcome.status == "delivered":
            delivery.delivered_at = at
            fields.append("delivered_at")
        delivery.save(update_fields=fields)
        if not was_sent and delivery.enrollment_id is not None:
            emit(delivery.enrollment, "reminder_sent", at=at, value=delivery.channel)  # type: ignore[arg-type]
        return delivery
    if outcome.status == "temporary" and delivery.attempts < max_attempts():
        delivery.status = DeliveryStatus.QUEUED
        delivery.next_attempt_at = respect.next_attempt(
            at, delivery.attempts, retry_after=outcome.retry_after, key=delivery.key
        )
        delivery.save(update_fields=fields)
        return delivery
    delivery.status = DeliveryStatus.FAILED
    delivery.next_attempt_at = None
    delivery.failed_at = at
    if outcome.status == "temporary":
        delivery.reason = (f"gave up after {delivery.attempts} attempts: " + outcome.reason)[:80]
    fields.append("failed_at")
    delivery.save(update_fields=fields)
    if outcome.status == "permanent":
        permanent_failure(delivery, detail=outcome.reason, at=at)
    return delivery


def permanent_failure(delivery: Delivery, *, detail: str, at: datetime) -> None:
    """An address that does not work: stop using that channel for the person, and tell
    their supporters (an in-app notification to each, and a line in the audit trail of
    the patient's record)."""
    if delivery.channel == Channel.IN_APP:
        return
    block(
        delivery.recipient,
        channel=delivery.channel,
        reason=BlockReason.PERMANENT_FAILURE,
        detail=detail,
        at=at,
    )
    tell_supporters(delivery, at=at)


def tell_supporters(delivery: Delivery, *, at: datetime) -> list[Delivery]:
    """Each active supporter of the patient finds a notification that the patient cannot be
    reached on that channel any more (written now, in the same transaction)."""
    enrollment = delivery.enrollment
    if enrollment is None:
        return []
    told = []
    for member in supporters_of(enrollment):
        rows = queue_nudge(
            recipient=member.supporter,
            organization=delivery.organization,
            template="contact_failed",
            context={
                "patient_name": delivery.recipient.display_name,
                "channel": delivery.channel,
                "enrollment_id": str(enrollment.pk),
            },
            key=f"contact_failed:{delivery.pk}:{member.supporter_id}",
            channels=[Channel.IN_APP],
            not_before=at,
            transactional=True,
        )
        for row in rows:
            if row.status == DeliveryStatus.QUEUED:
                # In-app waits for no hours: it interrupts nobody.
                outcome = sender_for(Channel.IN_APP).send(row, render(row))
                record_outcome(row, outcome, at=at)
            told.append(row)
    audit.record(
        action="nudges.contact_failed",
        actor=None,
        actor_label="trellis",
        subject=delivery,
        patient=delivery.recipient_id,
        organization=delivery.organization_id,
        details={
            "channel": delivery.channel,
            "reason": delivery.reason,
            "supporters_told": len(told),
        },
        at=at,
    )
    return told


PROVIDER_STATUSES = {"sent", "delivered", "temporary", "permanent", "failed"}


@transaction.atomic
def record_provider_status(
    *, channel: str, provider_id: str, status: str, reason: str = "", at: datetime
) -> Delivery | None:
    """A provider's delivery report (an SMS status callback) for the delivery it names:
    delivered, failed for good (then the channel is blocked and the supporters told), or
    failed for now (tried again with backoff). Reports never move a delivery backwards;
    an unknown provider id answers None and changes nothing."""
    if status not in PROVIDER_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    if not provider_id:
        return None
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("recipient", "organization", "enrollment")
        .filter(channel=channel, provider_id=provider_id)
        .first()
    )
    if delivery is None:
        return None
    if delivery.status in (DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED):
        return delivery
    if status == "sent":
        return delivery
    if status == "delivered":
        if delivery.status != DeliveryStatus.DELIVERED:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = at
            delivery.sent_at = delivery.sent_at or at
            delivery.reason = ""
            delivery.save(
                update_fields=["status", "delivered_at", "sent_at", "reason", "updated_at"]
            )
        return delivery
    if delivery.status == DeliveryStatus.DELIVERED:
        return delivery
    if status == "temporary":
        # The provider could not hand it over this time: try again from our side.
        if delivery.attempts >= max_attempts():
            delivery.status = DeliveryStatus.FAILED
            delivery.failed_at = at
            delivery.reason = (reason or "undelivered")[:80]
            delivery.save(update_fields=["status", "failed_at", "reason", "updated_at"])
            return delivery
        delivery.status = DeliveryStatus.QUEUED
        delivery.reason = (reason or "undelivered")[:80]
        delivery.next_attempt_at = respect.next_attempt(at, delivery.attempts, key=delivery.key)
        delivery.save(update_fields=["status", "reason", "next_attempt_at", "updated_at"])
        return delivery
    delivery.status = DeliveryStatus.FAILED
    delivery.failed_at = at
    delivery.reason = (reason or "failed")[:80]
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "failed_at", "reason", "next_attempt_at", "updated_at"])
    permanent_failure(delivery, detail=delivery.reason, at=at)
    return delivery


# ---------------------------------------------------------------------------------------
# Opening and reading


@transaction.atomic
def mark_opened(delivery: Delivery, *, at: datetime) -> Delivery:
    """The person opened what a nudge pointed to: recorded once, with the engagement event
    `reminder_opened`; its in-app notification counts as read."""
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("enrollment")
        .get(pk=delivery.pk)
    )
    if delivery.opened_at is not None:
        return delivery
    delivery.opened_at = at
    delivery.save(update_fields=["opened_at", "updated_at"])
    Notification.objects.filter(delivery=delivery, read_at__isnull=True).update(read_at=at)
    if delivery.enrollment_id is not None:
        emit(delivery.enrollment, "reminder_opened", at=at, value=delivery.channel)  # type: ignore[arg-type]
    return delivery


def mark_read(notification: Notification, *, at: datetime) -> Notification:
    if notification.read_at is None:
        notification.read_at = at
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


def mark_all_read(user: User | Any, *, at: datetime) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=at, updated_at=at
    )
