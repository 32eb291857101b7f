"""Who may use the supporter's workspace: the caseload pages and /api/v1/care (checked by
tests/test_authorization_matrix.py).

Decisions:
- The caseload, the patient record, care notes and suggesting a change of support are for
  the clinic's coaches, therapists and supervisors; patients, admins and researchers get
  403 (admins and researchers see no clinical records). patient_alex is supported by
  therapist_maria and on coach_jordan's team, so all three clinicians reach his record.
- Confirming or declining a change of support is a clinical decision: therapists and
  supervisors; coaches get 403.
- The supervision page is for supervisors and clinic admins (numbers, no records);
  reassigning a patient is for supervisors only (admins get 403).
- Preparing for a live session (the session and the progress summary) is for the same
  clinicians as the record: the session's enrollment must be in reach, and a session of
  another enrollment is 404 like one that does not exist.
- The JSON API: the same, and integration tokens get 403 (the workspace is for people).
"""

from __future__ import annotations

from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    ONE_PATIENT,
    PATIENT_LIST,
    Route,
    expect,
)
from trellis.appointments.tests.helpers import alex_booked_session
from trellis.care.models import StepChangeStatus, SteppedCareChange
from trellis.care.services import suggest_step_change
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex

_NOBODY = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_CLINICIANS = expect(FORBIDDEN, **_NOBODY, coach=ALLOWED, therapist=ALLOWED, supervisor=ALLOWED)
_DECIDERS = expect(FORBIDDEN, **_NOBODY, therapist=ALLOWED, supervisor=ALLOWED)
_SUPERVISION = expect(FORBIDDEN, **_NOBODY, supervisor=ALLOWED, admin=ALLOWED)
_SUPERVISORS = expect(FORBIDDEN, **_NOBODY, supervisor=ALLOWED)

_API_NO_TOKENS = {"anonymous": LOGIN, "token_read": FORBIDDEN, "token_write": FORBIDDEN}
_API_CLINICIANS = expect(
    FORBIDDEN, **_API_NO_TOKENS, coach=ALLOWED, therapist=ALLOWED, supervisor=ALLOWED
)
_API_DECIDERS = expect(FORBIDDEN, **_API_NO_TOKENS, therapist=ALLOWED, supervisor=ALLOWED)
PREFIX = "/api/v1/care"


def _enrollment(cast: Any) -> dict[str, Any]:
    return {"pk": enroll_alex(cast).pk}


def _session(cast: Any) -> dict[str, Any]:
    """A video session patient_alex booked with therapist_maria."""
    session = alex_booked_session(cast)
    return {"pk": session.enrollment_id, "appointment_id": session.pk}


def _alex_enrolled(cast: Any) -> dict[str, Any]:
    """patient_alex on the caseload of his care team; the URL takes no arguments."""
    enroll_alex(cast)
    return {}


def _api_enrollment(cast: Any) -> dict[str, Any]:
    return {"enrollment_id": _enrollment(cast)["pk"]}


def _suggestion(cast: Any) -> dict[str, Any]:
    """A suggestion (from a rule) to step patient_alex down to coached, waiting."""
    enrollment = enroll_alex(cast)
    change = SteppedCareChange.objects.filter(
        enrollment=enrollment, status=StepChangeStatus.SUGGESTED
    ).first() or suggest_step_change(
        enrollment, to_level="coached", reason="Doing well", actor=None, now=timeutil.now()
    )
    return {"pk": change.pk}


def _api_suggestion(cast: Any) -> dict[str, Any]:
    return {"change_id": _suggestion(cast)["pk"]}


def _note(cast: Any) -> dict[str, Any]:
    return {"body": "Spoke on the phone; doing better."}


def _step(cast: Any) -> dict[str, Any]:
    return {"to_level": "coached", "reason": "Doing well on their own"}


def _decision(cast: Any) -> dict[str, Any]:
    return {"note": "Agreed at the team meeting."}


def _reassign(cast: Any) -> dict[str, Any]:
    return {"to_supporter": str(cast["therapist_sam"].pk)}


ROUTES: list[Route] = [
    Route("caseload:list", _CLINICIANS, kwargs=_alex_enrolled, reads=PATIENT_LIST),
    Route("caseload:record", _CLINICIANS, kwargs=_enrollment, reads=ONE_PATIENT),
    Route("caseload:prepare_session", _CLINICIANS, kwargs=_session, reads=ONE_PATIENT),
    Route(
        "caseload:add_note",
        _CLINICIANS,
        method="POST",
        kwargs=_enrollment,
        data=_note,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "caseload:suggest_step",
        _CLINICIANS,
        method="POST",
        kwargs=_enrollment,
        data=_step,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "caseload:confirm_step", _DECIDERS, method="POST", kwargs=_suggestion, reads=NO_PATIENT_DATA
    ),
    Route(
        "caseload:decline_step", _DECIDERS, method="POST", kwargs=_suggestion, reads=NO_PATIENT_DATA
    ),
    Route("caseload:supervision", _SUPERVISION, reads=NO_PATIENT_DATA),
    Route(
        "caseload:reassign",
        _SUPERVISORS,
        method="POST",
        kwargs=_enrollment,
        data=_reassign,
        reads=NO_PATIENT_DATA,
    ),
    Route(f"GET {PREFIX}/caseload", _API_CLINICIANS, kwargs=_alex_enrolled, reads=PATIENT_LIST),
    Route(
        f"GET {PREFIX}/enrollments/{{enrollment_id}}/record",
        _API_CLINICIANS,
        kwargs=_api_enrollment,
        reads=ONE_PATIENT,
    ),
    Route(
        f"GET {PREFIX}/enrollments/{{enrollment_id}}/notes",
        _API_CLINICIANS,
        kwargs=_api_enrollment,
        reads=ONE_PATIENT,
    ),
    Route(
        f"POST {PREFIX}/enrollments/{{enrollment_id}}/notes",
        _API_CLINICIANS,
        kwargs=_api_enrollment,
        data=_note,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"POST {PREFIX}/enrollments/{{enrollment_id}}/step-changes",
        _API_CLINICIANS,
        kwargs=_api_enrollment,
        data=_step,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        f"POST {PREFIX}/step-changes/{{change_id}}/confirm",
        _API_DECIDERS,
        kwargs=_api_suggestion,
        data=_decision,
        reads=ONE_PATIENT,
    ),
    Route(
        f"POST {PREFIX}/step-changes/{{change_id}}/decline",
        _API_DECIDERS,
        kwargs=_api_suggestion,
        data=_decision,
        reads=ONE_PATIENT,
    ),
]
