"""Who may use each questionnaire and progress page (checked by
tests/test_authorization_matrix.py). The JSON API's declarations are in
expectations_measures_api.py.

Decisions:
- Questionnaires, results and "My progress" are a patient's own pages: staff get 403
  (they see a patient's progress on the clinic page below), API tokens do not open HTML
  pages. A patient who is not in a program still gets the list and the progress page,
  with a kind "not in a program yet" message. A questionnaire or result that is not in
  the patient's own enrollment is 404, like one that does not exist: patient_farah
  (Hillside) gets 404 on patient_alex's.
- The staff progress page of a patient follows the caseload rules of
  trellis.accounts.queries.patients_for: coaches and therapists of the patient's team and
  supervisors of the clinic may open it; admins (accounts, not records) and researchers
  (no identifiable records) get 404, as does anyone for a patient outside their reach.
  Patients get 403 whatever the id. Every view is audited as a read of the record.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    ONE_PATIENT,
    Route,
    expect,
)
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex
from trellis.measures.models import (
    AssignmentStatus,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.measures.services import schedule_for_enrollment, submit_response

_PATIENT_PAGE = expect(
    FORBIDDEN,
    anonymous=LOGIN,
    token_read=LOGIN,
    token_write=LOGIN,
    patient=ALLOWED,
    other_clinic_patient=ALLOWED,
)
_PATIENTS_OWN_THING = expect(
    FORBIDDEN,
    anonymous=LOGIN,
    token_read=LOGIN,
    token_write=LOGIN,
    patient=ALLOWED,
    other_clinic_patient=NOT_FOUND,
)
_CARE_TEAM_PAGE = expect(
    NOT_FOUND,
    anonymous=LOGIN,
    token_read=LOGIN,
    token_write=LOGIN,
    patient=FORBIDDEN,
    other_clinic_patient=FORBIDDEN,
    coach=ALLOWED,
    therapist=ALLOWED,
    supervisor=ALLOWED,
)


def _open_assignment(cast: Any) -> Any:
    """A questionnaire patient_alex may answer now (made through the measures service)."""
    enrollment = enroll_alex(cast)
    now = timeutil.now()
    schedule_for_enrollment(enrollment, now=enrollment.started_at)
    return (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            status__in=[AssignmentStatus.PENDING, AssignmentStatus.OVERDUE],
            due_from__lte=now,
            closes_at__gt=now,
        )
        .order_by("due_from")
        .first()
    )


def _assignment(cast: Any) -> dict[str, Any]:
    return {"assignment_id": _open_assignment(cast).pk}


def _response(cast: Any) -> dict[str, Any]:
    enrollment = enroll_alex(cast)
    existing = QuestionnaireResponse.objects.filter(enrollment=enrollment).first()
    if existing is None:
        existing = submit_response(
            enrollment,
            "GAD-7",
            actor=cast["patient_alex"],
            answers={f"q{n}": 1 for n in range(1, 8)},
            client_id=uuid.uuid4(),
            now=timeutil.now(),
        ).response
    return {"response_id": existing.pk}


def _enrolled(cast: Any) -> dict[str, Any]:
    """patient_alex enrolled in the journey test program; the URL itself takes no arguments."""
    enroll_alex(cast)
    return {}


def _patient(cast: Any) -> dict[str, Any]:
    enroll_alex(cast)
    return {"patient_id": cast["patient_alex"].pk}


ROUTES: list[Route] = [
    Route("measures:due", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route("measures:answer", _PATIENTS_OWN_THING, kwargs=_assignment, reads=ONE_PATIENT),
    Route("measures:result", _PATIENTS_OWN_THING, kwargs=_response, reads=ONE_PATIENT),
    Route("measures:progress", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route(
        "measures:patient_progress",
        _CARE_TEAM_PAGE,
        kwargs=_patient,
        note="a read of the patient's record, audited as measures.view_progress",
        reads=ONE_PATIENT,
    ),
]
