"""Who may use each patient page (checked by tests/test_authorization_matrix.py).

Decisions:
- The patient pages are a patient's own: every one needs a signed-in patient. Staff get
  403 (they see a patient's work on the clinic pages, through their caseload); API tokens
  do not open HTML pages.
- A patient with no active enrollment still gets Today, Journal, Mood, My story and
  simple mode, with a kind "you are not in a program yet" message. A step or journal entry
  that is not in the patient's own current enrollment is 404, like one that does not exist:
  patient_farah (Hillside, not enrolled) gets 404 on patient_alex's steps and entries.
- The offline page, the web app manifest and the service worker hold no patient data and
  are public, so the browser can fetch them before anyone signs in.

The matrix's personas have no enrollment, so routes about a step or an entry enroll
patient_alex in the journey test program first (through the care service).
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
from trellis.core import timeutil
from trellis.journey.models import JournalEntry
from trellis.journey.services import add_journal_entry
from trellis.journey.tests.factories import enroll_alex

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
_PUBLIC = expect(ALLOWED)


def _enrolled(cast: Any) -> dict[str, Any]:
    """patient_alex enrolled in the journey test program; the URL itself takes no arguments."""
    enroll_alex(cast)
    return {}


def _step(key: str) -> Any:
    def kwargs(cast: Any) -> dict[str, Any]:
        _enrolled(cast)
        return {"step_key": key}

    return kwargs


def _chapter(cast: Any) -> dict[str, Any]:
    _enrolled(cast)
    return {"chapter_key": "noticing"}


def _own_enrollment(cast: Any) -> dict[str, Any]:
    return {"enrollment_id": enroll_alex(cast).pk}


def _journal_entry(cast: Any) -> dict[str, Any]:
    enrollment = enroll_alex(cast)
    entry = JournalEntry.objects.filter(enrollment=enrollment).first()
    if entry is None:
        entry = add_journal_entry(
            enrollment,
            actor=cast["patient_alex"],
            body="A note for the access matrix.",
            shared=False,
            client_id=uuid.uuid4(),
            now=timeutil.now(),
        )
    return {"entry_id": entry.pk}


ROUTES: list[Route] = [
    Route("journey:today", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route("journey:step", _PATIENTS_OWN_THING, kwargs=_step("slow-breathing"), reads=ONE_PATIENT),
    Route(
        "journey:start",
        _PATIENTS_OWN_THING,
        method="POST",
        kwargs=_step("what-stress-does"),
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "journey:complete",
        _PATIENTS_OWN_THING,
        method="POST",
        kwargs=_step("slow-breathing"),
        note="an empty form: refused for its input (400) once access is granted",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "journey:step_done", _PATIENTS_OWN_THING, kwargs=_step("slow-breathing"), reads=ONE_PATIENT
    ),
    Route(
        "journey:rate",
        _PATIENTS_OWN_THING,
        method="POST",
        kwargs=_step("slow-breathing"),
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "journey:activity_done",
        _PATIENTS_OWN_THING,
        method="POST",
        kwargs=_step("planned-activity"),
        reads=NO_PATIENT_DATA,
    ),
    Route("journey:journal", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route(
        "journey:journal_share",
        _PATIENTS_OWN_THING,
        method="POST",
        kwargs=_journal_entry,
        reads=NO_PATIENT_DATA,
    ),
    Route("journey:mood", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route("journey:story", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route("journey:chapter", _PATIENTS_OWN_THING, kwargs=_chapter, reads=ONE_PATIENT),
    Route(
        "journey:choose_program",
        _PATIENTS_OWN_THING,
        method="POST",
        kwargs=_own_enrollment,
        note="another patient's enrollment is 404, like one that does not exist",
        reads=NO_PATIENT_DATA,
    ),
    Route("journey:simple_mode", _PATIENT_PAGE, reads=NO_PATIENT_DATA),
    Route(
        "journey:offline",
        _PUBLIC,
        note="no patient data; cached by the service worker",
        reads=NO_PATIENT_DATA,
    ),
    Route("journey:manifest", _PUBLIC, reads=NO_PATIENT_DATA),
    Route("journey:service_worker", _PUBLIC, reads=NO_PATIENT_DATA),
]
