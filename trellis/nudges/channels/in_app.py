"""In-app: the notification the person finds on their notifications page (and its unread
count in the navigation). Written in the same transaction that records the delivery, so
it appears exactly once."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from trellis.nudges.channels.base import Message, Outcome
from trellis.nudges.models import Notification

if TYPE_CHECKING:
    from trellis.nudges.models import Delivery


def _local_path(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "") if link else ""


class InAppSender:
    channel = "in_app"

    def send(self, delivery: Delivery, message: Message) -> Outcome:
        # Called with the delivery's row locked and still queued, in the transaction that
        # records it delivered: no notification can exist for it yet (one would break the
        # one-to-one, and the whole delivery would roll back rather than show twice).
        notification = Notification.objects.create(
            delivery=delivery,
            user_id=delivery.recipient_id,
            title=message.subject[:140],
            body=message.short[:400],
            link=_local_path(message.link)[:300],
        )
        return Outcome("delivered", provider_id=str(notification.pk))


sender = InAppSender()
