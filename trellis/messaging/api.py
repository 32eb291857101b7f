"""Secure messages as JSON, for a mobile app: read a thread, send a message, mark read.

The same people as on the web pages: the patient, and staff with the enrollment in their
reach (only the care team and the clinic's supervisors may send or leave read receipts).
Integration tokens get 403: messages are not for integrations. Outside the caller's reach
is 404. An empty or over-long message is 422 with the field; writing in the thread of a
program that has ended is 409 with the reason. Every send carries a `client_id`: sending
the same one again returns the message already sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from trellis.accounts.api import session_user
from trellis.accounts.models import User
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care.models import Enrollment
from trellis.care.queries import access_enrollment
from trellis.core import timeutil
from trellis.core.schemas import NOT_BLANK, WHOLE, RequestBody, refusals
from trellis.messaging import queries, services
from trellis.messaging.models import Message

router = Router(tags=["messaging"])

ENDED_STATUS = 409


class MessageOut(Schema):
    id: uuid.UUID
    client_id: uuid.UUID
    sender: str
    from_patient: bool
    body: str
    sent_at: datetime
    read_at: datetime | None
    template_key: str
    support_minutes: int | None

    @staticmethod
    def of(message: Message) -> MessageOut:
        return MessageOut(
            id=message.pk,
            client_id=message.client_id,
            sender=message.sender.display_name,
            from_patient=message.from_patient,
            body=message.body,
            sent_at=message.sent_at,
            read_at=message.read_at,
            template_key=message.template_key,
            support_minutes=message.support_minutes,
        )


class ThreadOut(Schema):
    enrollment_id: uuid.UUID
    reply_within_working_days: int
    waiting_since: datetime | None
    can_send: bool
    messages: list[MessageOut]


class MessageIn(RequestBody):
    client_id: uuid.UUID
    body: str = Field(max_length=services.MAX_BODY, json_schema_extra=NOT_BLANK)
    template_key: str = Field(default="", max_length=60)
    support_minutes: Annotated[int, Field(ge=0, le=services.MAX_SUPPORT_MINUTES), WHOLE] | None = (
        None
    )


class ReadOut(Schema):
    marked_read: int


def _reach(request: HttpRequest, enrollment_id: uuid.UUID) -> tuple[User, Enrollment]:
    user = session_user(request)
    return user, access_enrollment(user, enrollment_id)


@router.get(
    "/enrollments/{enrollment_id}/thread",
    response={200: ThreadOut, **refusals(401, 403, 404, 422)},
)
def get_thread(request: HttpRequest, enrollment_id: uuid.UUID) -> ThreadOut:
    """The conversation of one enrollment, oldest message first (staff reading it is
    audited; reading does not mark anything read, POST .../read does)."""
    user, enrollment = _reach(request, enrollment_id)
    is_patient = enrollment.patient_id == user.pk
    note_read(
        actor=user,
        what=Read.MESSAGES,
        via="api",
        patient=enrollment.patient_id,
        subject=enrollment,
        organization=enrollment.organization_id,
    )
    thread = queries.thread_of(enrollment)
    return ThreadOut(
        enrollment_id=enrollment.pk,
        reply_within_working_days=queries.reply_promise(enrollment.organization),
        waiting_since=thread.waiting_since if thread else None,
        can_send=enrollment.is_active and (is_patient or services.may_reply(enrollment, user)),
        messages=[MessageOut.of(m) for m in queries.messages_of(enrollment)],
    )


@router.post(
    "/enrollments/{enrollment_id}/messages",
    response={
        201: MessageOut,
        200: MessageOut,
        **refusals(400, 401, 403, 404, 409, 422),
    },
)
def send_message(request: HttpRequest, enrollment_id: uuid.UUID, payload: MessageIn) -> Any:
    """Send a message (201); the same client id again returns the first one (200)."""
    user, enrollment = _reach(request, enrollment_id)
    before = queries.already_sent(enrollment, payload.client_id)
    try:
        message = services.send_message(
            enrollment,
            sender=user,
            body=payload.body,
            client_id=payload.client_id,
            now=timeutil.now(),
            template_key=payload.template_key,
            support_minutes=payload.support_minutes,
        )
    except services.ProgramEnded:
        raise HttpError(ENDED_STATUS, services.ENDED_MESSAGE) from None
    return Status(200 if before else 201, MessageOut.of(message))


@router.post(
    "/enrollments/{enrollment_id}/read",
    response={200: ReadOut, **refusals(401, 403, 404, 422)},
)
def mark_read(request: HttpRequest, enrollment_id: uuid.UUID) -> ReadOut:
    """The caller has read the thread: the other side's messages get a read receipt."""
    user, enrollment = _reach(request, enrollment_id)
    if enrollment.patient_id != user.pk and not services.may_reply(enrollment, user):
        raise HttpError(403, _("Only the patient and their care team leave read receipts."))
    marked = services.mark_read(enrollment, reader=user, now=timeutil.now(), via="api")
    return ReadOut(marked_read=marked)
