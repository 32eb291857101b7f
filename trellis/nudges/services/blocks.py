"""Blocks: STOP, unsubscribe, an address that does not work; and lifting them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import User
from trellis.core import timeutil
from trellis.nudges.models import (
    BlockReason,
    Channel,
    ContactBlock,
    Delivery,
    DeliveryStatus,
)

# ---------------------------------------------------------------------------------------
# Blocks: STOP, unsubscribe, an address that does not work


@transaction.atomic
def block(
    user: User | Any,
    *,
    channel: str = "",
    reason: str,
    detail: str = "",
    by: User | None = None,
    at: datetime | None = None,
) -> ContactBlock:
    """Stop reaching a person on one channel (blank: on every channel) until lifted, and
    suppress what is queued for them there. A second block on the same channel returns
    the one in force."""
    if channel and channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if reason not in BlockReason.values:
        raise ValueError(f"unknown block reason {reason!r}")
    at = at or timeutil.now()
    current = ContactBlock.objects.filter(
        user_id=user.pk, channel=channel, lifted_at__isnull=True
    ).first()
    if current is not None:
        return current
    created = ContactBlock.objects.create(
        user_id=user.pk, channel=channel, reason=reason, detail=detail[:200]
    )
    queued = Delivery.objects.filter(recipient_id=user.pk, status=DeliveryStatus.QUEUED)
    if channel:
        queued = queued.filter(channel=channel)
    queued.update(
        status=DeliveryStatus.SUPPRESSED,
        reason=f"blocked_{reason}",
        next_attempt_at=None,
        updated_at=at,
    )
    audit.record(
        action="nudges.block",
        actor=by,
        actor_label="" if by else "trellis",
        subject=created,
        patient=user.pk,
        details={"channel": channel or "every", "reason": reason},
        at=at,
    )
    return created


@transaction.atomic
def lift(
    user: User | Any,
    channel: str = "",
    *,
    reason: str = "",
    by: User | None = None,
    at: datetime | None = None,
) -> int:
    """Reach the person on that channel again (blank: lift the block on every channel,
    such as STOP; blocks of single channels stay). `reason` lifts only blocks of that
    reason. Returns how many blocks were lifted."""
    at = at or timeutil.now()
    blocks = ContactBlock.objects.filter(user_id=user.pk, channel=channel, lifted_at__isnull=True)
    if reason:
        blocks = blocks.filter(reason=reason)
    lifted = list(blocks)
    for found in lifted:
        found.lifted_at = at
        found.save(update_fields=["lifted_at", "updated_at"])
        audit.record(
            action="nudges.unblock",
            actor=by,
            actor_label="" if by else "trellis",
            subject=found,
            patient=user.pk,
            details={"channel": channel or "every", "reason": found.reason},
            at=at,
        )
    return len(lifted)


# What a person may lift themselves, from their notifications page. A STOP is lifted only
# by texting START (carriers' rules); an address that failed may be tried again.
RESUMABLE_REASONS = (BlockReason.UNSUBSCRIBED, BlockReason.PERMANENT_FAILURE)
RESUMABLE_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.PUSH)


@transaction.atomic
def resume(user: User, *, channel: str, at: datetime) -> int:
    """The person asks for reminders on `channel` again: their own unsubscribe, or the
    block of an address that failed, is lifted (audited with them as the actor). Returns
    how many blocks were lifted; a STOP stays. Raises ValueError for a channel that is
    never paused."""
    if channel not in RESUMABLE_CHANNELS:
        raise ValueError(f"not a channel that can be resumed: {channel!r}")
    return sum(lift(user, channel, reason=reason, by=user, at=at) for reason in RESUMABLE_REASONS)


@transaction.atomic
def unsubscribe(user_id: uuid.UUID, *, channel: str, at: datetime) -> ContactBlock | None:
    """The person asked, from a link in an e-mail, to get no more nudges on that channel."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    return block(
        user,
        channel=channel,
        reason=BlockReason.UNSUBSCRIBED,
        detail=_("Unsubscribed from a link in a message."),
        by=user,
        at=at,
    )
