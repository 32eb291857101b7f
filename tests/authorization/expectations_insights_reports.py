"""Who may read a clinic's reports (trellis/insights/report_urls.py, trellis/insights/api.py).

Decisions:
- The clinic's admins and supervisors read every report in full; its researchers read
  them de-identified (supporters unnamed, counts below 5 suppressed): all three ALLOWED.
- Coaches and therapists get 403, patients 403 (of this clinic or another): the reports
  are not for them. A clinic where the person holds no reader role is 404 (tested in
  trellis/insights/tests/test_reports_pages.py; every principal here is of Riverside or
  a patient).
- Integration tokens: HTML pages are for people (as anonymous: the login page); the API
  answers 403, the reports need a person.
- The answers are aggregates with no patient named (NO_PATIENT_DATA); a CSV download or
  an API read is still recorded in the audit trail as `insights.report_export`.
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

_READERS = {"supervisor": ALLOWED, "admin": ALLOWED, "researcher": ALLOWED}
_PAGES = expect(FORBIDDEN, anonymous=LOGIN, token_read=LOGIN, token_write=LOGIN, **_READERS)
_API = expect(FORBIDDEN, anonymous=LOGIN, **_READERS)


def _clinic(cast: Any) -> dict[str, Any]:
    return {"clinic": cast.clinics["riverside"].slug}


def _report(cast: Any) -> dict[str, Any]:
    return {"clinic": cast.clinics["riverside"].slug, "name": "outcomes"}


def _api(cast: Any) -> dict[str, Any]:
    return {"clinic": cast.clinics["riverside"].slug, "report": "workload"}


ROUTES = [
    Route("insights_reports:index", _PAGES, kwargs=_clinic, reads=NO_PATIENT_DATA),
    Route("insights_reports:report", _PAGES, kwargs=_report, reads=NO_PATIENT_DATA),
    Route("insights_reports:csv", _PAGES, kwargs=_report, reads=NO_PATIENT_DATA),
    Route(
        "GET /api/v1/insights/reports/{clinic}/{report}",
        _API,
        kwargs=_api,
        reads=NO_PATIENT_DATA,
    ),
]
