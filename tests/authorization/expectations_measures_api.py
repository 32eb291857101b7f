"""Who may use each questionnaire API operation (checked by tests/test_authorization_matrix.py).

Decisions:
- A patient answers and reads their own questionnaires only.
- Their supporters and the clinic's supervisors (coach_jordan and therapist_maria are on
  patient_alex's team; maria is also his supporter) may read what is due, the scores and
  the outcome, and get 403 on answering: only the patient answers. Each read by a
  supporter is audited.
- Clinic admins and researchers see no patient's questionnaires: 404, like a patient of
  another clinic.
- The list of installed instruments (published wording, bands, sources; no patient data)
  is open to every signed-in person.
- Integration tokens get 403 everywhere: questionnaires are not for integrations yet.
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

PREFIX = "/api/v1/measures"
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


def _enrollment(cast: Any) -> dict[str, Any]:
    return {"enrollment_id": enroll_alex(cast).pk}


def _gad7_answers(cast: Any) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "instrument": "GAD-7",
        "answers": {f"q{n}": 1 for n in range(1, 8)},
    }


ROUTES = [
    Route(f"GET {PREFIX}/instruments", expect(ALLOWED, **_NO_TOKENS), reads=NO_PATIENT_DATA),
    Route(
        f"GET {PREFIX}/enrollments/{{enrollment_id}}/due",
        _READ,
        kwargs=_enrollment,
        reads=ONE_PATIENT,
    ),
    Route(
        f"POST {PREFIX}/enrollments/{{enrollment_id}}/responses",
        _WRITE,
        kwargs=_enrollment,
        data=_gad7_answers,
        note="The baseline GAD-7 is due from enrollment, so the patient's answer is stored.",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"GET {PREFIX}/enrollments/{{enrollment_id}}/scores",
        _READ,
        kwargs=_enrollment,
        reads=ONE_PATIENT,
    ),
    Route(
        f"GET {PREFIX}/enrollments/{{enrollment_id}}/outcome",
        _READ,
        kwargs=_enrollment,
        reads=ONE_PATIENT,
    ),
]
