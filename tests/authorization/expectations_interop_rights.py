"""Who may use the data-rights pages (trellis/interop/rights_urls.py).

Decisions:
- The clinic's data-rights page (retention, erasure on request, research k), the requests
  waiting, erasing or refusing them, and erasing on a spoken request are for the clinic's
  admins (MANAGE_SETTINGS): every other member of staff and every patient gets 403. A
  request of another clinic is 404 for an admin (trellis/interop/tests/test_erasure_pages.py).
- The research export is for researchers and clinic admins: 403 for everyone else. It
  shows no patient's data (de-identified, and refused below k); each download is audited.
- "Erase my record" is a patient's own page: staff get 403.
- Integration tokens open no HTML page (as anonymous: the login page).
- No page shows a patient's clinical data: the requests list names who asked (name and
  e-mail address, as the people pages do), never a score, note or answer.
"""

from __future__ import annotations

from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    Route,
    expect,
)
from trellis.core import timeutil
from trellis.interop.erasure.services import open_request, request_erasure

_PAGE = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_ADMIN = expect(FORBIDDEN, admin=ALLOWED, **_PAGE)
_EXPORTERS = expect(FORBIDDEN, admin=ALLOWED, researcher=ALLOWED, **_PAGE)
_PATIENTS = expect(FORBIDDEN, patient=ALLOWED, other_clinic_patient=ALLOWED, **_PAGE)


def _waiting(cast: Any) -> dict[str, Any]:
    alex = cast["patient_alex"]
    waiting = open_request(alex) or request_erasure(
        patient=alex, organization=cast.clinics["riverside"], now=timeutil.now()
    )
    return {"pk": waiting.pk}


ROUTES = [
    Route("data_rights:settings", _ADMIN, reads=NO_PATIENT_DATA),
    Route("data_rights:erase_verbal", _ADMIN, reads=NO_PATIENT_DATA),
    Route(
        "data_rights:erase",
        _ADMIN,
        method="POST",
        kwargs=_waiting,
        reads=NO_PATIENT_DATA,
        note="An empty form: the admin gets 400 and nothing is erased.",
    ),
    Route(
        "data_rights:refuse",
        _ADMIN,
        method="POST",
        kwargs=_waiting,
        reads=NO_PATIENT_DATA,
        note="No reason given: the admin gets 400 and the request still waits.",
    ),
    Route("data_rights:research_export", _EXPORTERS, reads=NO_PATIENT_DATA),
    Route("data_rights:my_erasure", _PATIENTS, reads=NO_PATIENT_DATA),
]
