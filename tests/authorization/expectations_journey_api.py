"""Who may use each journey API operation (checked by tests/test_authorization_matrix.py).

Decisions:
- A patient reads and writes their own enrollments only.
- Their supporters and the clinic's supervisors (coach_jordan and therapist_maria are on
  patient_alex's team; maria is also his supporter) may read today, steps, the story and
  the shared journal entries, and get 403 on every write: only the patient acts in their
  program.
- Clinic admins and researchers see no patient journeys: 404, like a patient of another
  clinic. The list of enrollments is open to every signed-in person (it is empty for them).
- Integration tokens get 403 everywhere: patient journeys are not for integrations yet.
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
    PATIENT_LIST,
    Route,
    expect,
)
from trellis.journey.tests.factories import enroll_alex

PREFIX = "/api/v1/journey/enrollments"
_NO_TOKENS = {"anonymous": LOGIN, "token_read": FORBIDDEN, "token_write": FORBIDDEN}
_READ = expect(
    ALLOWED,
    **_NO_TOKENS,
    other_clinic_patient=NOT_FOUND,
    admin=NOT_FOUND,
    researcher=NOT_FOUND,
)
_WRITE = expect(
    FORBIDDEN,
    anonymous=LOGIN,
    patient=ALLOWED,
    other_clinic_patient=NOT_FOUND,
    admin=NOT_FOUND,
    researcher=NOT_FOUND,
)


def _alex_enrolled(cast: Any) -> dict[str, Any]:
    enroll_alex(cast)
    return {}


def _enrollment(cast: Any) -> dict[str, Any]:
    return {"enrollment_id": enroll_alex(cast).pk}


def _step(cast: Any) -> dict[str, Any]:
    return {**_enrollment(cast), "step_key": "what-stress-does"}


def _client_id(**extra: Any) -> Any:
    return lambda cast: {"client_id": str(uuid.uuid4()), **extra}


ROUTES = [
    Route(
        f"GET {PREFIX}",
        expect(ALLOWED, **_NO_TOKENS),
        kwargs=_alex_enrolled,
        reads=PATIENT_LIST,
        note="patient_alex enrolled: in his care team's list",
    ),
    Route(f"GET {PREFIX}/{{enrollment_id}}/today", _READ, kwargs=_enrollment, reads=ONE_PATIENT),
    Route(
        f"GET {PREFIX}/{{enrollment_id}}/steps/{{step_key}}", _READ, kwargs=_step, reads=ONE_PATIENT
    ),
    Route(
        f"POST {PREFIX}/{{enrollment_id}}/steps/{{step_key}}/complete",
        _WRITE,
        kwargs=_step,
        data=_client_id(response={}, duration_s=120),
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"POST {PREFIX}/{{enrollment_id}}/steps/{{step_key}}/rating",
        _WRITE,
        kwargs=_step,
        data=_client_id(rating=4),
        note="The step is not finished yet, so the patient gets 422: past the permission layer.",
        reads=NO_PATIENT_DATA,
    ),
    Route(f"GET {PREFIX}/{{enrollment_id}}/journal", _READ, kwargs=_enrollment, reads=ONE_PATIENT),
    Route(
        f"POST {PREFIX}/{{enrollment_id}}/journal",
        _WRITE,
        kwargs=_enrollment,
        data=_client_id(body="A calmer morning today.", shared=False),
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"POST {PREFIX}/{{enrollment_id}}/moods",
        _WRITE,
        kwargs=_enrollment,
        data=_client_id(score=6, note=""),
        reads=NO_PATIENT_DATA,
    ),
    Route(f"GET {PREFIX}/{{enrollment_id}}/story", _READ, kwargs=_enrollment, reads=ONE_PATIENT),
]
