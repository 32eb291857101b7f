"""Who may use the message pages and API (checked by tests/test_authorization_matrix.py).

Decisions:
- "Messages" (messages/) is the patient's own page: staff get 403; a patient with no
  program (patient_farah) gets a kind page saying so. API tokens do not open HTML pages.
- The care team's thread page (clinic/messages/<enrollment>/) is for staff with the
  enrollment in reach: therapist_maria (his supporter), coach_jordan (same team: he may
  read, not reply) and supervisor_ruth. Admins and researchers see no clinical record: 404.
  Patients get 403 (a staff page).
- API: reading a thread follows the enrollment's reach. Sending and read receipts are for
  the patient, the enrollment's active care team and the clinic's supervisors: a
  colleague who can only read (coach_jordan) gets 403. Integration tokens get 403:
  messages are not for integrations. Outside reach is 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    NOT_FOUND,
    ONE_PATIENT,
    Route,
    expect,
)
from trellis.journey.tests.factories import enroll_alex

PREFIX = "/api/v1/messaging/enrollments"
_NO_HTML = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_PATIENT_PAGE = expect(FORBIDDEN, **_NO_HTML, patient=ALLOWED, other_clinic_patient=ALLOWED)
_STAFF_IN_REACH = expect(
    FORBIDDEN,
    **_NO_HTML,
    coach=ALLOWED,
    therapist=ALLOWED,
    supervisor=ALLOWED,
    admin=NOT_FOUND,
    researcher=NOT_FOUND,
)
_NO_TOKENS = {"anonymous": LOGIN, "token_read": FORBIDDEN, "token_write": FORBIDDEN}
_OUT_OF_REACH = {"other_clinic_patient": NOT_FOUND, "admin": NOT_FOUND, "researcher": NOT_FOUND}
_API_READ = expect(ALLOWED, **_NO_TOKENS, **_OUT_OF_REACH)
_API_WRITE = expect(ALLOWED, **_NO_TOKENS, **_OUT_OF_REACH, coach=FORBIDDEN)


def _enrolled(cast: Any) -> dict[str, Any]:
    """patient_alex enrolled in the journey test program, with therapist_maria."""
    enroll_alex(cast)
    return {}


def _enrollment(cast: Any) -> dict[str, Any]:
    return {"enrollment_id": enroll_alex(cast).pk}


def _message(cast: Any) -> dict[str, Any]:
    return {"client_id": str(uuid.uuid4()), "body": "Thank you, that helped."}


ROUTES: list[Route] = [
    Route("messaging:mine", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route("messaging:thread", _STAFF_IN_REACH, kwargs=_enrollment, reads=ONE_PATIENT),
    Route(
        f"GET {PREFIX}/{{enrollment_id}}/thread", _API_READ, kwargs=_enrollment, reads=ONE_PATIENT
    ),
    Route(
        f"POST {PREFIX}/{{enrollment_id}}/messages",
        _API_WRITE,
        kwargs=_enrollment,
        data=_message,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"POST {PREFIX}/{{enrollment_id}}/read",
        _API_WRITE,
        kwargs=_enrollment,
        reads=NO_PATIENT_DATA,
    ),
]
