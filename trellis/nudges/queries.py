"""Reads of nudges that depend on who asks.

The caller has already decided reach (a patient reads their own notifications; the care
team reaches an enrollment through `workspace.queries.access_patient_enrollment`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.shortcuts import get_object_or_404

from trellis.care.models import Enrollment
from trellis.nudges.models import Channel, ContactBlock, Delivery, DeliveryStatus, Notification
from trellis.nudges.wording import reason_words, template_words

# How many deliveries the record reads (the newest, in one query); a nudge sent by three
# channels is three of them, shown as one line.
LOG_SHOWN = 40


@dataclass(frozen=True)
class LoggedDelivery:
    """How one channel of a nudge went: its status, and why for one failed or not sent.

    `at` is the moment of its status (sent, delivered, failed; for one still queued, when
    it is due; for one not sent, when it was due)."""

    id: uuid.UUID
    at: datetime
    channel: str
    channel_words: str
    status: str
    status_words: str
    reason: str
    why: str
    attempts: int
    opened_at: datetime | None


@dataclass(frozen=True)
class LoggedNudge:
    """One line of the record's log: one reminder or message, by each channel it took."""

    key: str
    template: str
    what: str
    at: datetime
    deliveries: list[LoggedDelivery]

    @property
    def opened(self) -> LoggedDelivery | None:
        """The first of its deliveries the patient opened, if any."""
        opened = [d for d in self.deliveries if d.opened_at is not None]
        return min(opened, key=lambda d: d.opened_at or d.at) if opened else None

    @property
    def has_failure(self) -> bool:
        return any(d.status == DeliveryStatus.FAILED for d in self.deliveries)

    @property
    def is_queued(self) -> bool:
        return all(d.status == DeliveryStatus.QUEUED for d in self.deliveries)


def _moment(delivery: Delivery) -> datetime:
    if delivery.status == DeliveryStatus.QUEUED:
        return delivery.next_attempt_at or delivery.not_before
    if delivery.status == DeliveryStatus.FAILED and delivery.failed_at:
        return delivery.failed_at
    if delivery.status == DeliveryStatus.DELIVERED and delivery.delivered_at:
        return delivery.delivered_at
    return delivery.sent_at or delivery.not_before


def delivery_log(enrollment: Enrollment, *, limit: int = LOG_SHOWN) -> list[LoggedNudge]:
    """The newest reminders and messages Trellis sent (or decided not to send) to the
    patient of an enrollment, newest first (by when each was due), one line per nudge with
    how each channel went, in one query: those about this enrollment and those about no
    enrollment in particular (an appointment text, a reply to STOP), at the enrollment's
    clinic. Never the message text: only what it was about."""
    rows = (
        Delivery.objects.filter(
            Q(enrollment=enrollment) | Q(enrollment__isnull=True),
            recipient_id=enrollment.patient_id,
            organization_id=enrollment.organization_id,
        )
        .only(
            "id",
            "key",
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
        .order_by("-not_before", "-created_at", "key")[:limit]
    )
    channels = dict(Channel.choices)
    statuses = dict(DeliveryStatus.choices)
    order = {channel: n for n, channel in enumerate(Channel.values)}
    nudges: dict[str, list[Delivery]] = {}
    for row in rows:
        # A nudge's deliveries share its key, one per channel: "<nudge key>:<channel>".
        nudges.setdefault(row.key.rsplit(":", 1)[0], []).append(row)
    log = []
    for key, members in nudges.items():
        members.sort(key=lambda d: order.get(d.channel, len(order)))
        lines = [
            LoggedDelivery(
                id=row.pk,
                at=_moment(row),
                channel=row.channel,
                channel_words=str(channels.get(row.channel, row.channel)),
                status=row.status,
                status_words=str(statuses.get(row.status, row.status)),
                reason=row.reason,
                why=reason_words(row.reason)
                if row.status in (DeliveryStatus.SUPPRESSED, DeliveryStatus.FAILED)
                else "",
                attempts=row.attempts,
                opened_at=row.opened_at,
            )
            for row in members
        ]
        log.append(
            LoggedNudge(
                key=key,
                template=members[0].template,
                what=template_words(members[0].template),
                at=min(line.at for line in lines),
                deliveries=lines,
            )
        )
    return log


# ---------------------------------------------------------------------------------------
# The signed-in person's own notifications (a person only ever reads their own).

NOTIFICATIONS_SHOWN = 50


def unread_count(user: Any) -> int:
    """How many in-app notifications the person has not read: one indexed count, for the
    navigation of every page."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notifications_for(user: Any, *, limit: int = NOTIFICATIONS_SHOWN) -> list[Notification]:
    """The person's newest notifications, newest first."""
    return list(Notification.objects.filter(user_id=user.pk).order_by("-created_at")[:limit])


def paused_for(user: Any) -> list[ContactBlock]:
    """The person's own blocks in force (a STOP, an unsubscribe, an address that failed),
    oldest first, for their notifications page."""
    return list(
        ContactBlock.objects.filter(user_id=user.pk, lifted_at__isnull=True).order_by("created_at")
    )


def access_notification(user: Any, pk: Any) -> Notification:
    """One of the person's own notifications; 404 for anyone else's."""
    return get_object_or_404(Notification, pk=pk, user_id=user.pk)


def access_own_delivery(user: Any, pk: Any) -> Delivery:
    """A nudge sent to this person (to open its link); 404 for anyone else's."""
    return get_object_or_404(
        Delivery.objects.select_related("recipient", "organization", "enrollment"),
        pk=pk,
        recipient_id=user.pk,
    )
