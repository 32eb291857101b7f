"""Live sessions as JSON: open times, booking, cancelling, rescheduling and the list.

Same rules as the pages. A patient books, moves and cancels their own sessions; their
care team (and the clinic's supervisors) may read them, and the care team may cancel.
Integration tokens get 403. Anything outside the caller's reach is 404. A taken time is
409; a refused one 422 with the field and the reason; nothing is written either way.
Booking carries a `client_id`: sending it again returns the first booking (200).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from trellis.accounts.api import session_user
from trellis.accounts.models import User
from trellis.appointments import queries, services
from trellis.appointments.models import Appointment, AppointmentStatus, Mode
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care.models import Enrollment
from trellis.care.queries import access_enrollment
from trellis.core import timeutil
from trellis.core.schemas import TEXT_DATE_TIME, ErrorOut, OneOf, RequestBody, refusals

router = Router(tags=["sessions"])


class OpenTimeOut(Schema):
    supporter_id: uuid.UUID
    supporter_name: str
    starts_at: datetime
    ends_at: datetime
    modes: list[Mode]


class AppointmentOut(Schema):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    supporter_id: uuid.UUID
    supporter_name: str
    starts_at: datetime
    ends_at: datetime
    mode: Mode
    location: str
    status: AppointmentStatus
    ical_uid: str
    ical_sequence: int

    @staticmethod
    def of(a: Appointment) -> AppointmentOut:
        return AppointmentOut(
            id=a.pk,
            enrollment_id=a.enrollment_id,
            supporter_id=a.supporter_id,
            supporter_name=a.supporter.display_name,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            mode=Mode(a.mode),
            location=a.location,
            status=AppointmentStatus(a.status),
            ical_uid=a.ical_uid,
            ical_sequence=a.ical_sequence,
        )


class BookIn(RequestBody):
    client_id: uuid.UUID
    supporter_id: uuid.UUID
    starts_at: Annotated[datetime, TEXT_DATE_TIME]
    mode: Annotated[str, OneOf(("", *Mode.values))] = Field(
        "", description="video, phone or in_person; blank if only one is offered"
    )


class CancelIn(RequestBody):
    reason: str = Field("", max_length=300)


class RescheduleIn(RequestBody):
    client_id: uuid.UUID
    starts_at: Annotated[datetime, TEXT_DATE_TIME]


def _own(request: HttpRequest, enrollment_id: uuid.UUID) -> tuple[User, Enrollment]:
    user = session_user(request)
    enrollment = access_enrollment(user, enrollment_id)
    if enrollment.patient_id != user.pk:
        raise HttpError(403, _("Only the patient books and moves their own sessions."))
    return user, enrollment


@router.get(
    "/enrollments/{enrollment_id}/open-times",
    response={200: list[OpenTimeOut], **refusals(401, 403, 404, 422)},
)
def open_times(request: HttpRequest, enrollment_id: uuid.UUID, days: int = 31) -> list[OpenTimeOut]:
    """Times the patient may book with their care team, from now up to `days` ahead."""
    user = session_user(request)
    enrollment = access_enrollment(user, enrollment_id)
    now = timeutil.now()
    found = queries.open_times_for(
        enrollment, start=now, end=now + timedelta(days=max(1, min(days, 90))), now=now
    )
    return [
        OpenTimeOut(
            supporter_id=t.supporter.pk,
            supporter_name=t.supporter.display_name,
            starts_at=t.starts_at,
            ends_at=t.ends_at,
            modes=[Mode(m) for m in t.modes],
        )
        for t in found
    ]


@router.get(
    "/enrollments/{enrollment_id}/appointments",
    response={200: list[AppointmentOut], **refusals(401, 403, 404, 422)},
)
def list_appointments(request: HttpRequest, enrollment_id: uuid.UUID) -> list[AppointmentOut]:
    """Every session of the enrollment, booked or past, soonest first."""
    user = session_user(request)
    enrollment = access_enrollment(user, enrollment_id)
    note_read(
        actor=user,
        what=Read.APPOINTMENTS,
        via="api",
        patient=enrollment.patient_id,
        subject=enrollment,
        organization=enrollment.organization_id,
    )
    return [AppointmentOut.of(a) for a in queries.appointments_of(enrollment)]


@router.post(
    "/enrollments/{enrollment_id}/appointments",
    response={
        200: AppointmentOut,
        201: AppointmentOut,
        **refusals(400, 401, 403, 404, 409, 422),
    },
)
def book(request: HttpRequest, enrollment_id: uuid.UUID, payload: BookIn) -> Status[object]:
    """Book an open time. 201 when booked, 200 for a repeat of the same client_id,
    409 when the time was just taken, 422 with the reason for any other refusal."""
    user, enrollment = _own(request, enrollment_id)
    created = not queries.already_booked(enrollment, payload.client_id)
    supporter = queries.find_supporter(payload.supporter_id)
    if supporter is None:
        raise HttpError(404, _("Not found."))
    try:
        appointment = services.book(
            enrollment,
            supporter=supporter,
            starts_at=payload.starts_at,
            mode=payload.mode,
            actor=user,
            client_id=payload.client_id,
            now=timeutil.now(),
        )
    except services.SlotTaken as taken:
        return Status(409, ErrorOut(detail=taken.message, errors=[]))
    return Status(201 if created else 200, AppointmentOut.of(appointment))


@router.post(
    "/appointments/{appointment_id}/cancel",
    response={200: AppointmentOut, **refusals(400, 401, 403, 404, 422)},
)
def cancel(request: HttpRequest, appointment_id: uuid.UUID, payload: CancelIn) -> AppointmentOut:
    """Cancel a session: the patient up to the clinic's notice, the care team any time
    before it starts."""
    user = session_user(request)
    appointment = queries.access_appointment(user, appointment_id)
    done = services.cancel(appointment, actor=user, reason=payload.reason, now=timeutil.now())
    return AppointmentOut.of(done)


@router.post(
    "/appointments/{appointment_id}/reschedule",
    response={200: AppointmentOut, **refusals(400, 401, 403, 404, 409, 422)},
)
def reschedule(
    request: HttpRequest, appointment_id: uuid.UUID, payload: RescheduleIn
) -> Status[object]:
    """Move a session to another open time of the same supporter."""
    user = session_user(request)
    appointment = queries.access_appointment(user, appointment_id)
    if appointment.enrollment.patient_id != user.pk:
        raise HttpError(403, _("Only the patient moves their own sessions."))
    try:
        moved = services.reschedule(
            appointment,
            starts_at=payload.starts_at,
            actor=user,
            client_id=payload.client_id,
            now=timeutil.now(),
        )
    except services.SlotTaken as taken:
        return Status(409, ErrorOut(detail=taken.message, errors=[]))
    return Status(200, AppointmentOut.of(moved))
