"""Who may use the getting-started pages, the patient's consent and preferences pages, and
the clinic's care pages (checked by tests/test_authorization_matrix.py).

Decisions:
- Getting started and My account / consent and preferences are a patient's own pages:
  staff get 403, API tokens do not open HTML pages. A patient whose getting-started steps
  are done (or who has none, like the matrix's patient_alex) is sent on to Today or the
  clinic home page: a redirect, so "allowed".
- Withdrawing a consent names one consent answer: someone else's is 404.
- Inviting a patient is for the clinic's coaches, therapists and supervisors; admins
  invite staff, not patients, and get 403 like researchers.
- Confirming a level of support is a clinical decision for therapists and supervisors
  (403 for everyone else, coaches included); an enrollment outside their reach is 404.
"""

from __future__ import annotations

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
from trellis.care import consent as care_consent
from trellis.care.models import Consent, ConsentKind
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex

_NOBODY = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_PATIENT_PAGE = expect(FORBIDDEN, **_NOBODY, patient=ALLOWED, other_clinic_patient=ALLOWED)
_PATIENTS_OWN_THING = expect(FORBIDDEN, **_NOBODY, patient=ALLOWED, other_clinic_patient=NOT_FOUND)
_CLINICIANS = expect(FORBIDDEN, **_NOBODY, coach=ALLOWED, therapist=ALLOWED, supervisor=ALLOWED)
_THERAPISTS_IN_REACH = expect(FORBIDDEN, **_NOBODY, therapist=ALLOWED, supervisor=ALLOWED)


def _enrolled(cast: Any) -> dict[str, Any]:
    """patient_alex enrolled in the journey test program (no getting-started steps)."""
    enroll_alex(cast)
    return {}


def _enrollment(cast: Any) -> dict[str, Any]:
    return {"pk": enroll_alex(cast).pk}


def _alex_consent(cast: Any) -> dict[str, Any]:
    """patient_alex's yes to research (given through the service), to withdraw."""
    enrollment = enroll_alex(cast)
    existing = Consent.objects.filter(
        user=cast["patient_alex"], agreed=True, withdrawn_at__isnull=True
    ).first()
    if existing is not None:
        return {"pk": existing.pk}
    research = next(
        d
        for d in care_consent.current_documents(enrollment.organization)
        if d.kind == ConsentKind.RESEARCH
    )
    consent = care_consent.give_consent(research, actor=cast["patient_alex"], now=timeutil.now())
    return {"pk": consent.pk}


ROUTES: list[Route] = [
    Route("onboarding:start", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("onboarding:consent", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("onboarding:eheals", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("onboarding:simple_mode", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("onboarding:baseline", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("onboarding:preferences", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("onboarding:my_consents", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route(
        "onboarding:withdraw_consent",
        _PATIENTS_OWN_THING,
        kwargs=_alex_consent,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "onboarding:agree_research",
        _PATIENT_PAGE,
        method="POST",
        kwargs=_enrolled,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "onboarding:agree_current",
        _PATIENT_PAGE,
        method="POST",
        kwargs=_enrolled,
        reads=NO_PATIENT_DATA,
    ),
    Route("onboarding:my_preferences", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("care:invite_patient", _CLINICIANS, reads=NO_PATIENT_DATA),
    Route(
        "care:confirm_support_level", _THERAPISTS_IN_REACH, kwargs=_enrollment, reads=ONE_PATIENT
    ),
]
