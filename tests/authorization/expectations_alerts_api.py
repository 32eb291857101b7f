"""Who may use each alerts API operation (checked by tests/test_authorization_matrix.py).

Decisions (the same as the alert pages):
- Clinical staff list the alerts in their reach; clinic admins get an empty list unless
  an alert was handed to them. Patients and researchers get 403.
- Acknowledging, resolving and dismissing patient_alex's inactivity alert: his care team
  (therapist_maria, coach_jordan on his team) and supervisors; admins 404 (no clinical
  record), patients and researchers 403.
- Integration tokens get 403: alerts are not for integrations.
"""

from __future__ import annotations

from typing import Any

from tests.authorization.expectations_alerts import alex_inactivity_alert
from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    ONE_PATIENT,
    PATIENT_LIST,
    Route,
    expect,
)

PREFIX = "/api/v1/alerts"
_NO_TOKENS = {"anonymous": LOGIN, "token_read": FORBIDDEN, "token_write": FORBIDDEN}
_PEOPLE = {"patient": FORBIDDEN, "other_clinic_patient": FORBIDDEN, "researcher": FORBIDDEN}
_ACT = expect(ALLOWED, **_NO_TOKENS, **_PEOPLE, admin=NOT_FOUND)


def _alex_alert_raised(cast: Any) -> dict[str, Any]:
    alex_inactivity_alert(cast)
    return {}


def _alert(cast: Any) -> dict[str, Any]:
    return {"alert_id": alex_inactivity_alert(cast).pk}


ROUTES = [
    Route(
        f"GET {PREFIX}",
        expect(ALLOWED, **_NO_TOKENS, **_PEOPLE),
        kwargs=_alex_alert_raised,
        reads=PATIENT_LIST,
        note="patient_alex's inactivity alert is in the list of his care team and supervisors",
    ),
    Route(
        f"POST {PREFIX}/{{alert_id}}/acknowledge",
        _ACT,
        kwargs=_alert,
        data=lambda cast: {"note": "Will phone tomorrow."},
        reads=ONE_PATIENT,
    ),
    Route(
        f"POST {PREFIX}/{{alert_id}}/resolve",
        _ACT,
        kwargs=_alert,
        data=lambda cast: {"note": "Phoned; back on track."},
        reads=ONE_PATIENT,
    ),
    Route(
        f"POST {PREFIX}/{{alert_id}}/dismiss",
        _ACT,
        kwargs=_alert,
        data=lambda cast: {"reason": "Away on holiday; told us in advance."},
        reads=ONE_PATIENT,
    ),
]
