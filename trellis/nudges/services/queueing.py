"""Queueing a nudge: one delivery per channel, queued or suppressed with its reason."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from trellis.accounts.models import Organization, User
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.nudges import respect
from trellis.nudges.models import (
    Channel,
    DecisionPoint,
    Delivery,
    DeliveryStatus,
)
from trellis.nudges.services.respecting import (
    Standing,
    block_on,
    cap_reason,
    channel_reason,
    chosen_channels,
    hours_for,
    person_reason,
    preferences_of,
    standing_of,
)

# ---------------------------------------------------------------------------------------
# Queueing


@transaction.atomic
def queue_nudge(
    *,
    recipient: User | Any,
    organization: Organization | Any,
    template: str,
    context: dict[str, Any],
    key: str,
    enrollment: Enrollment | None = None,
    decision: DecisionPoint | None = None,
    appointment_id: uuid.UUID | None = None,
    channels: list[str] | None = None,
    not_before: datetime,
    expires_at: datetime | None = None,
    transactional: bool = False,
    standing: Standing | None = None,
) -> list[Delivery]:
    """One Delivery per channel, keyed f"{key}:{channel}": queued, or suppressed with its
    reason. Calling again with the same key returns the same rows and changes nothing.

    `channels` blank: the channels the person chose. A nudge that falls in quiet hours or
    outside the allowed hours waits (`not_before` moves to the next allowed moment) and is
    suppressed if that is after `expires_at`. `standing`: the recipient's consents and
    blocks, when the caller read them for many people at once (the worker checks them
    again before sending).
    """
    timeutil.ensure_aware(not_before)
    if not key or len(key) > 150:
        raise ValueError("a nudge key is 1 to 150 characters")
    existing = list(
        Delivery.objects.filter(key__in=[f"{key}:{c}" for c in Channel.values]).order_by("channel")
    )
    if existing:
        return existing
    if enrollment is not None and not transactional:
        # One patient's nudges are counted against the caps one at a time.
        User.objects.select_for_update().filter(pk=recipient.pk).exists()
    prefs = preferences_of(recipient)
    standing = standing or standing_of(recipient)
    blocks = list(standing.blocks)
    patient = enrollment is not None
    chosen = chosen_channels(prefs, patient=patient)
    wanted = list(dict.fromkeys(channels)) if channels else chosen
    unknown = [c for c in wanted if c not in Channel.values]
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r}")
    reason = person_reason(recipient, enrollment, withdrawn=standing.consent_withdrawn)
    hours = hours_for(recipient, organization, prefs)
    send_at: datetime | None = not_before
    if not reason:
        send_at = hours.next_allowed(not_before)
        if send_at is None:
            reason = "no_allowed_hours"
        elif expires_at is not None and send_at >= expires_at:
            reason = hours.why_not(not_before) or "expired"
    if not reason and patient and not transactional:
        any_channel = [c for c in wanted if not channel_reason(recipient, c, chosen, blocks)]
        if any_channel:
            reason = cap_reason(recipient, organization, hours.zone, send_at or not_before)
    values = {**context, "nudge_key": key}
    if transactional:
        values["transactional"] = True
    rows = []
    for channel in wanted:
        why = reason or channel_reason(recipient, channel, chosen, blocks)
        rows.append(
            Delivery(
                key=f"{key}:{channel}",
                organization_id=organization.pk,
                recipient_id=recipient.pk,
                enrollment=enrollment,
                decision=decision,
                appointment_id=appointment_id,
                channel=channel,
                template=template,
                context=values,
                status=DeliveryStatus.SUPPRESSED if why else DeliveryStatus.QUEUED,
                reason=why,
                not_before=send_at or not_before,
                expires_at=expires_at,
                next_attempt_at=None if why else send_at,
            )
        )
    try:
        with transaction.atomic():
            Delivery.objects.bulk_create(rows)
    except IntegrityError:
        # The same nudge was queued by another caller at the same moment: theirs stands.
        return list(Delivery.objects.filter(key__in=[r.key for r in rows]).order_by("channel"))
    return rows


def suppress(delivery: Delivery, reason: str, *, at: datetime) -> Delivery:
    """A queued delivery is not sent after all (a STOP came, the enrollment ended ...)."""
    delivery.status = DeliveryStatus.SUPPRESSED
    delivery.reason = reason[:80]
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "reason", "next_attempt_at", "updated_at"])
    return delivery


def send_time_reason(delivery: Delivery, *, at: datetime, standing: Standing | None = None) -> str:
    """Why a queued delivery must not go now after all (something changed since it was
    queued), or blank. Caps are not counted again: they were decided when it was queued.
    `standing`: the recipient's, when the caller has read it already."""
    if delivery.expires_at is not None and at >= delivery.expires_at:
        return "expired"
    standing = standing or standing_of(delivery.recipient)
    reason = person_reason(
        delivery.recipient, delivery.enrollment, withdrawn=standing.consent_withdrawn
    )
    if reason:
        return reason
    found = block_on(list(standing.blocks), delivery.channel)
    if found is not None:
        return f"blocked_{found.reason}"
    return ""


def hours_of_delivery(delivery: Delivery) -> respect.Hours:
    return hours_for(delivery.recipient, delivery.organization, preferences_of(delivery.recipient))
