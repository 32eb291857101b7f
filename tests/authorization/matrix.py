"""The vocabulary of the authorization matrix (tests/test_authorization_matrix.py).

Each area of the product lists its routes in `tests/authorization/expectations_<area>.py`
as `ROUTES: list[Route]`. A URL pattern or API operation with no Route fails the matrix
test, so nobody can add a page without deciding who may see it.

Principals (who knocks): the anonymous visitor, seven personas of Riverside clinic,
a patient of another clinic (Hillside), and two Riverside API tokens.

Each Route also says what its answer shows of patients' clinical data (`reads`), so the
matrix test can check that every such read by staff or a token is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    ALLOWED = "allowed"  # 2xx, or a redirect that is not to the login page (POST: also 400/422)
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404: outside the caller's reach looks like nothing at all
    LOGIN = "login"  # redirect to the login page (HTML) or 401 (API)


ALLOWED, FORBIDDEN, NOT_FOUND, LOGIN = (
    Outcome.ALLOWED,
    Outcome.FORBIDDEN,
    Outcome.NOT_FOUND,
    Outcome.LOGIN,
)

# principal -> persona key (None: nobody signed in; "token:<scope>": an API token)
PRINCIPALS: dict[str, str | None] = {
    "anonymous": None,
    "patient": "patient_alex",
    "other_clinic_patient": "patient_farah",
    "coach": "coach_jordan",
    "therapist": "therapist_maria",
    "supervisor": "supervisor_ruth",
    "admin": "admin_avery",
    "researcher": "researcher_lee",
    "token_read": "token:read",
    "token_write": "token:read_write",
}
STAFF = ("coach", "therapist", "supervisor", "admin", "researcher")
TOKENS = ("token_read", "token_write")
PATIENTS = ("patient", "other_clinic_patient")


class Reads(StrEnum):
    """What a route's answer shows of patients' clinical data (scores, answers, notes,
    journal, messages, alerts, sessions, program and level of support)."""

    # Nothing clinical: a form, settings, the people directory (names, roles, status), a
    # redirect after a write, or only what the caller has just written.
    NOTHING = "nothing"
    # One patient's data: patient_alex's, whose enrollment, alert or session the route
    # names. Staff and tokens leave an audit event naming him.
    ONE_PATIENT = "one patient"
    # Several patients' data at once (a caseload, an alert inbox): staff and tokens leave
    # one audit event naming the set, which holds patient_alex whenever he is shown.
    PATIENT_LIST = "patient list"


NO_PATIENT_DATA, ONE_PATIENT, PATIENT_LIST = Reads.NOTHING, Reads.ONE_PATIENT, Reads.PATIENT_LIST


def expect(default: Outcome, **overrides: Outcome) -> dict[str, Outcome]:
    """An outcome for every principal: `default`, except those named."""
    unknown = set(overrides) - set(PRINCIPALS)
    if unknown:
        raise ValueError(f"unknown principals {sorted(unknown)}")
    return {p: overrides.get(p, default) for p in PRINCIPALS}


@dataclass(frozen=True)
class Route:
    """One URL name ("accounts:login") or API operation ("GET /api/v1/me") and who may use it.

    `kwargs` builds the URL arguments from the cast (personas.Cast) and returns a dict;
    `data` builds a POST/PATCH body. HTML routes are requested with `method` (GET by
    default); API routes take the method from their name. Tokens apply to API routes;
    for HTML routes they are sent as a bearer header and must get the anonymous outcome.
    `reads` must be decided for every route: the matrix test fails on None.
    """

    name: str
    expect: Mapping[str, Outcome]
    method: str = "GET"
    kwargs: Callable[[Any], dict[str, Any]] | None = None
    data: Callable[[Any], dict[str, Any]] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    reads: Reads | None = None
