"""A person's own notifications as JSON (for an app): the list with the unread count,
marking one or all read. Signed-in people only (each sees only their own); integration
tokens get 403: notifications are not for integrations."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from trellis.accounts.api import session_user
from trellis.core import timeutil
from trellis.core.schemas import refusals
from trellis.nudges import queries, services
from trellis.nudges.models import Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: uuid.UUID
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def of(notification: Notification) -> NotificationOut:
        return NotificationOut(
            id=notification.pk,
            title=notification.title,
            body=notification.body,
            link=notification.link,
            created_at=notification.created_at,
            read_at=notification.read_at,
        )


class NotificationsOut(Schema):
    unread: int
    notifications: list[NotificationOut]


class MarkedOut(Schema):
    marked: int


@router.get("", response={200: NotificationsOut, **refusals(401, 403)})
def list_notifications(request: HttpRequest) -> NotificationsOut:
    """The caller's newest notifications (up to 50), newest first, and how many are unread."""
    user = session_user(request)
    return NotificationsOut(
        unread=queries.unread_count(user),
        notifications=[NotificationOut.of(n) for n in queries.notifications_for(user)],
    )


@router.post("/read", response={200: MarkedOut, **refusals(401, 403)})
def mark_all_read(request: HttpRequest) -> MarkedOut:
    """Mark every unread notification of the caller read; answers how many were."""
    user = session_user(request)
    return MarkedOut(marked=services.mark_all_read(user, at=timeutil.now()))


@router.post(
    "/{notification_id}/read", response={200: NotificationOut, **refusals(401, 403, 404, 422)}
)
def mark_read(request: HttpRequest, notification_id: uuid.UUID) -> NotificationOut:
    """Mark one of the caller's notifications read (reading it twice changes nothing)."""
    user = session_user(request)
    notification = queries.access_notification(user, notification_id)
    return NotificationOut.of(services.mark_read(notification, at=timeutil.now()))
