"""Reads of nudges that depend on who asks.

The caller has already decided reach (a patient reads their own notifications; the care
team reaches an enrollment through `workspace.queries.access_patient_enrollment`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from trellis.care.models import Enrollment
from trellis.nudges.models import Channel, Delivery, DeliveryStatus
from trellis.nudges.wording import reason_words, template_words

# How many deliveries the record shows: the newest, in one query.
LOG_SHOWN = 25


@dataclass(frozen=True)
class LoggedDelivery:
    """One line of the record's log of reminders and messages sent to a patient.

    `at` is the moment of its status (sent, delivered, failed; for one still queued, when
    it is due; for one not sent, when that was decided)."""

    id: uuid.UUID
    at: datetime
    channel: str
    channel_words: str
    template: str
    what: str
    status: str
    status_words: str
    reason: str
    why: str
    attempts: int
    opened_at: datetime | None

    @property
    def is_problem(self) -> bool:
        return self.status == DeliveryStatus.FAILED


def _moment(delivery: Delivery) -> datetime:
    if delivery.status == DeliveryStatus.QUEUED:
        return delivery.next_attempt_at or delivery.not_before
    if delivery.status == DeliveryStatus.FAILED and delivery.failed_at:
        return delivery.failed_at
    if delivery.status == DeliveryStatus.DELIVERED and delivery.delivered_at:
        return delivery.delivered_at
    return delivery.sent_at or delivery.created_at


def delivery_log(enrollment: Enrollment, *, limit: int = LOG_SHOWN) -> list[LoggedDelivery]:
    """The newest reminders and messages Trellis sent (or decided not to send) to the
    patient of an enrollment, newest first, in one query: those about this enrollment and
    those about no enrollment in particular (an appointment text, a reply to STOP), at the
    enrollment's clinic. Never the message text: only what it was about."""
    rows = (
        Delivery.objects.filter(
            Q(enrollment=enrollment) | Q(enrollment__isnull=True),
            recipient_id=enrollment.patient_id,
            organization_id=enrollment.organization_id,
        )
        .only(
            "id",
            "channel",
            "template",
            "status",
            "reason",
            "attempts",
            "not_before",
            "next_attempt_at",
            "sent_at",
            "delivered_at",
            "failed_at",
            "opened_at",
            "created_at",
        )
        .order_by("-created_at", "-id")[:limit]
    )
    channels = dict(Channel.choices)
    statuses = dict(DeliveryStatus.choices)
    return [
        LoggedDelivery(
            id=row.pk,
            at=_moment(row),
            channel=row.channel,
            channel_words=str(channels.get(row.channel, row.channel)),
            template=row.template,
            what=template_words(row.template),
            status=row.status,
            status_words=str(statuses.get(row.status, row.status)),
            reason=row.reason,
            why=reason_words(row.reason)
            if row.status in (DeliveryStatus.SUPPRESSED, DeliveryStatus.FAILED)
            else "",
            attempts=row.attempts,
            opened_at=row.opened_at,
        )
        for row in rows
    ]
