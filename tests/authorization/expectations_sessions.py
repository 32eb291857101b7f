"""Who may use each session page and API operation (checked by
tests/test_authorization_matrix.py).

Decisions:
- "Sessions" under /sessions/ is a patient's own page: staff get 403, API tokens do not
  open HTML pages. A patient not in a program (patient_farah has none) gets the page with
  a kind "not yet" message, and a refusal when booking (400). Picking a day and a time on
  the way to booking (sessions:day, sessions:confirm) are the patient's own pages too. A
  session that is not the patient's own is 404, like one that does not exist.
- The staff pages under /clinic/sessions/ are for clinicians (coaches, therapists,
  supervisors): clinic admins and researchers get 403; patients get 403. A supporter
  changes only their own availability: someone else's weekly time or day off is 404.
  Recording attendance needs the session to be in the clinician's reach (their team's
  patients, or the whole clinic for a supervisor); the service then lets the care team
  record it.
- API: integration tokens get 403 everywhere (sessions are for people). Open times and
  the list of sessions follow the enrollment's reach (patient, care team, supervisors);
  admins and researchers get 404 as for any record. Only the patient books and moves
  their sessions (staff in reach get 403). Cancelling: the patient or the care team
  (therapist_maria is patient_alex's supporter); others in reach get 403.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    NOT_FOUND,
    ONE_PATIENT,
    PATIENT_LIST,
    Route,
    expect,
)
from trellis.appointments import services
from trellis.appointments.models import WeeklySlot
from trellis.appointments.tests.helpers import (
    alex_booked_session,
    maria_every_day,
    open_times_ahead,
)
from trellis.core import timeutil

PREFIX = "/api/v1/sessions"
_HTML_SIGNED_OUT = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_PATIENT_PAGE = expect(FORBIDDEN, **_HTML_SIGNED_OUT, patient=ALLOWED, other_clinic_patient=ALLOWED)
_PATIENTS_OWN = expect(
    FORBIDDEN, **_HTML_SIGNED_OUT, patient=ALLOWED, other_clinic_patient=NOT_FOUND
)
_CLINICIANS = expect(
    FORBIDDEN, **_HTML_SIGNED_OUT, coach=ALLOWED, therapist=ALLOWED, supervisor=ALLOWED
)
_MARIAS_OWN = expect(
    FORBIDDEN, **_HTML_SIGNED_OUT, coach=NOT_FOUND, therapist=ALLOWED, supervisor=NOT_FOUND
)

_NO_TOKENS = {"anonymous": LOGIN, "token_read": FORBIDDEN, "token_write": FORBIDDEN}
_API_READ = expect(
    ALLOWED, **_NO_TOKENS, other_clinic_patient=NOT_FOUND, admin=NOT_FOUND, researcher=NOT_FOUND
)
_API_PATIENT_WRITE = expect(
    FORBIDDEN,
    **_NO_TOKENS,
    patient=ALLOWED,
    other_clinic_patient=NOT_FOUND,
    admin=NOT_FOUND,
    researcher=NOT_FOUND,
)
_API_CANCEL = expect(
    FORBIDDEN,
    **_NO_TOKENS,
    patient=ALLOWED,
    therapist=ALLOWED,
    other_clinic_patient=NOT_FOUND,
    admin=NOT_FOUND,
    researcher=NOT_FOUND,
)


def _maria_takes_sessions(cast: Any) -> dict[str, Any]:
    """therapist_maria open for sessions with patient_alex; the URL itself takes no arguments."""
    maria_every_day(cast)
    return {}


def _alex_booked(cast: Any) -> dict[str, Any]:
    alex_booked_session(cast)
    return {}


def _appointment_id(cast: Any) -> dict[str, Any]:
    return {"appointment_id": alex_booked_session(cast).pk}


def _slot_id(cast: Any) -> dict[str, Any]:
    maria_every_day(cast)
    slot = WeeklySlot.objects.filter(supporter=cast["therapist_maria"]).first()
    assert slot is not None
    return {"slot_id": slot.pk}


def _exception_id(cast: Any) -> dict[str, Any]:
    maria = cast["therapist_maria"]
    now = timeutil.now()
    day_off = services.add_exception(
        maria, actor=maria, day=(now + timedelta(days=40)).date(), reason="Leave", now=now
    )
    return {"exception_id": day_off.pk}


def _enrollment_id(cast: Any) -> dict[str, Any]:
    return {"enrollment_id": maria_every_day(cast).pk}


def _booking(cast: Any) -> dict[str, Any]:
    first = open_times_ahead(cast)[0]
    return {
        "client_id": str(uuid.uuid4()),
        "supporter_id": str(first.supporter.pk),
        "starts_at": first.starts_at.isoformat(),
        "mode": "phone",
    }


def _moving(cast: Any) -> dict[str, Any]:
    appointment = alex_booked_session(cast)
    other = [t for t in open_times_ahead(cast) if t.starts_at != appointment.starts_at]
    return {"client_id": str(uuid.uuid4()), "starts_at": other[-1].starts_at.isoformat()}


ROUTES: list[Route] = [
    Route("sessions:mine", _PATIENT_PAGE, kwargs=_maria_takes_sessions, reads=ONE_PATIENT),
    Route(
        "sessions:book",
        _PATIENT_PAGE,
        method="POST",
        kwargs=_maria_takes_sessions,
        note="an empty form is refused with 400 and nothing is booked",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "sessions:day",
        _PATIENT_PAGE,
        kwargs=_maria_takes_sessions,
        note="without ?day= the first day with free times",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "sessions:confirm",
        _PATIENT_PAGE,
        kwargs=_maria_takes_sessions,
        note="with no time chosen it goes back to Sessions; patient_farah sees 'not yet'",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "sessions:cancel",
        _PATIENTS_OWN,
        method="POST",
        kwargs=_appointment_id,
        reads=NO_PATIENT_DATA,
    ),
    Route("sessions:reschedule", _PATIENTS_OWN, kwargs=_appointment_id, reads=ONE_PATIENT),
    Route(
        "sessions:clinic",
        _CLINICIANS,
        kwargs=_alex_booked,
        reads=PATIENT_LIST,
        note="therapist_maria's page lists her session with patient_alex",
    ),
    Route("sessions:availability", _CLINICIANS, reads=NO_PATIENT_DATA),
    Route(
        "sessions:slot_add",
        _CLINICIANS,
        method="POST",
        note="an empty form is 400",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "sessions:slot_delete", _MARIAS_OWN, method="POST", kwargs=_slot_id, reads=NO_PATIENT_DATA
    ),
    Route(
        "sessions:exception_add",
        _CLINICIANS,
        method="POST",
        note="an empty form is 400",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "sessions:exception_delete",
        _MARIAS_OWN,
        method="POST",
        kwargs=_exception_id,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "sessions:options",
        _CLINICIANS,
        method="POST",
        note="an empty form is 400",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "sessions:attendance",
        _CLINICIANS,
        method="POST",
        kwargs=_appointment_id,
        note="an empty form is 400; the session is in reach of maria, jordan and ruth",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"GET {PREFIX}/enrollments/{{enrollment_id}}/open-times",
        _API_READ,
        kwargs=_enrollment_id,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"GET {PREFIX}/enrollments/{{enrollment_id}}/appointments",
        _API_READ,
        kwargs=_enrollment_id,
        reads=ONE_PATIENT,
    ),
    Route(
        f"POST {PREFIX}/enrollments/{{enrollment_id}}/appointments",
        _API_PATIENT_WRITE,
        kwargs=_enrollment_id,
        data=_booking,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"POST {PREFIX}/appointments/{{appointment_id}}/cancel",
        _API_CANCEL,
        kwargs=_appointment_id,
        data=lambda cast: {"reason": "matrix"},
        reads=ONE_PATIENT,
    ),
    Route(
        f"POST {PREFIX}/appointments/{{appointment_id}}/reschedule",
        _API_PATIENT_WRITE,
        kwargs=_appointment_id,
        data=_moving,
        reads=NO_PATIENT_DATA,
    ),
]
