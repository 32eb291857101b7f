"""Who may use the patient's own record and the clinicians' pages of requests for
corrections (trellis/interop/record_urls.py; checked by tests/test_authorization_matrix.py).

Decisions:
- My record, its downloads, asking for a correction and the accounting of disclosures are
  a patient's own pages: every patient sees their own record (patient_farah of the other
  clinic too), staff get 403, integration tokens do not open HTML pages. A patient reading
  their own record is not audited as a read; each download is audited (`record.export`).
- An unknown download format is 404 (not part of the matrix).
- The requests for corrections are for the clinic's clinicians (coaches, therapists,
  supervisors) with the patient in reach: the list is theirs; one request (patient_alex's)
  is 404 for a clinician who cannot reach him. Admins, researchers and patients get 403.
- The list and one request show the patient's words: each is audited (a list read naming
  the patients shown; a record read naming patient_alex).
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
from trellis.core import timeutil
from trellis.interop.models import AmendmentRequest, AmendmentStatus
from trellis.interop.record import amendments
from trellis.journey.tests.factories import enroll_alex

_NOBODY = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_PATIENT_PAGE = expect(FORBIDDEN, **_NOBODY, patient=ALLOWED, other_clinic_patient=ALLOWED)
_CLINICIANS = expect(FORBIDDEN, **_NOBODY, coach=ALLOWED, therapist=ALLOWED, supervisor=ALLOWED)


def _enrolled(cast: Any) -> dict[str, Any]:
    enroll_alex(cast)
    return {}


def _alex_request(cast: Any) -> dict[str, Any]:
    """patient_alex's pending request for a correction (a fresh one after a decision)."""
    enroll_alex(cast)
    pending = AmendmentRequest.objects.filter(
        patient=cast["patient_alex"], status=AmendmentStatus.PENDING
    ).first()
    if pending is None:
        pending = amendments.request_amendment(
            patient=cast["patient_alex"],
            about="mood",
            change="My check-in of Monday should read 4, not 6.",
            now=timeutil.now(),
        )
    return {"pk": pending.pk}


def _with_request(cast: Any) -> dict[str, Any]:
    _alex_request(cast)
    return {}


ROUTES: list[Route] = [
    Route("record:mine", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route(
        "record:download",
        _PATIENT_PAGE,
        kwargs=lambda cast: {**_enrolled(cast), "fmt": "json"},
        note="one format stands for all three (html, json, fhir)",
        reads=ONE_PATIENT,
    ),
    Route("record:request_amendment", _PATIENT_PAGE, kwargs=_enrolled, reads=NO_PATIENT_DATA),
    Route("record:disclosures", _PATIENT_PAGE, kwargs=_enrolled, reads=ONE_PATIENT),
    Route("record:clinic_amendments", _CLINICIANS, kwargs=_with_request, reads=PATIENT_LIST),
    Route(
        "record:clinic_amendment",
        _CLINICIANS,
        kwargs=_alex_request,
        reads=ONE_PATIENT,
    ),
    Route(
        "record:decide",
        _CLINICIANS,
        method="POST",
        kwargs=_alex_request,
        data=lambda cast: {"decision": "accept"},
        reads=NO_PATIENT_DATA,
    ),
]
