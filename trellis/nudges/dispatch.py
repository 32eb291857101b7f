"""Sending one due delivery through its channel and recording what happened.

`deliver` is what a worker calls for each delivery it claimed. It locks the row for the
whole exchange (another worker's claim skips it), so one delivery is handed to its
channel by one worker at a time, and a delivery already sent is never sent again.
The one window no lock can close: the channel accepted the message (the SMTP server said
250) and the worker died before the transaction that records it committed; the row is
still queued and the next worker sends it again. An e-mail sent twice then carries the
same Message-ID (tokens.message_id), so mail systems can recognise it as one message.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from trellis.core import timeutil
from trellis.nudges import services
from trellis.nudges.channels import Outcome, sender_for
from trellis.nudges.messages import render
from trellis.nudges.models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)


def is_due(delivery: Delivery, now: datetime) -> bool:
    due_at = delivery.next_attempt_at or delivery.not_before
    return delivery.status == DeliveryStatus.QUEUED and due_at <= now


def with_what_deciding_needs(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Deliveries with what deciding them needs in the same read: the recipient and their
    preferences, the clinic and its limits, the enrollment."""
    return deliveries.select_related(
        "recipient__preferences", "organization__outreach_settings", "enrollment"
    )


def for_sending(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """`with_what_deciding_needs`, the deliveries' rows locked for sending."""
    return with_what_deciding_needs(deliveries).select_for_update(of=("self",))


@transaction.atomic
def deliver(delivery_id: uuid.UUID | str, *, now: datetime) -> Delivery:
    """Lock one delivery and send it if it is due (`send_locked`), in one transaction."""
    return send_locked(for_sending(Delivery.objects.filter(pk=delivery_id)).get(), now=now)


def send_locked(
    delivery: Delivery, *, now: datetime, standing: services.Standing | None = None
) -> Delivery:
    """Send one due delivery through its channel and record the outcome; call inside the
    transaction that holds its row lock (`for_sending`). `standing`: the recipient's
    consents and blocks, when the caller read them for many deliveries at once.

    sent or delivered: the `reminder_sent` engagement event; a temporary failure: one
    more attempt, the next after an exponential backoff (or the provider's Retry-After),
    failed after the last attempt; a permanent failure: failed, that channel blocked for
    the person, their supporters told. A delivery that is not queued or not yet due is
    returned unchanged; one that may no longer be sent (a STOP since, the enrollment
    ended, expired) is suppressed with its reason; one that comes due in quiet hours
    waits for them to end.
    """
    timeutil.ensure_aware(now)
    if not is_due(delivery, now):
        return delivery
    reason = services.send_time_reason(delivery, at=now, standing=standing)
    if reason:
        return services.suppress(delivery, reason, at=now)
    hours = services.hours_of_delivery(delivery)
    if not hours.allows(now):
        later = hours.next_allowed(now)
        if later is None:
            return services.suppress(delivery, "no_allowed_hours", at=now)
        if delivery.expires_at is not None and later >= delivery.expires_at:
            return services.suppress(delivery, hours.why_not(now), at=now)
        delivery.next_attempt_at = later
        delivery.save(update_fields=["next_attempt_at", "updated_at"])
        return delivery
    try:
        sender = sender_for(delivery.channel)
        message = render(delivery)
    except LookupError as error:
        # No such channel or template in this Trellis: nothing to retry, nobody to block.
        delivery.status = DeliveryStatus.FAILED
        delivery.failed_at = now
        delivery.reason = str(error)[:80]
        delivery.next_attempt_at = None
        delivery.save(
            update_fields=["status", "failed_at", "reason", "next_attempt_at", "updated_at"]
        )
        return delivery
    try:
        outcome = sender.send(delivery, message)
    except Exception as error:  # a channel must answer an Outcome; treat a crash as temporary
        log.exception("channel %s raised for delivery %s", delivery.channel, delivery.pk)
        outcome = Outcome("temporary", reason=f"{type(error).__name__}")
    return services.record_outcome(delivery, outcome, at=now)
