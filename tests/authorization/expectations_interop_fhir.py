"""Who may use FHIR read and search (trellis/interop/fhir/urls.py; docs/fhir.md).

Decisions:
- The CapabilityStatement (`/fhir/R4/metadata`) is open to anyone, signed in or not: it
  says what the server supports and holds no one's data.
- Read and search answer only a backend client's access token (interop.caller, SMART
  Backend Services). A signed-in person, an integration API token and the anonymous
  visitor alike get 401 with a Bearer challenge; the scopes and the clinic of a backend
  client are tested in trellis/interop/tests/test_fhir_errors.py, and every answer's
  disclosure in test_fhir_read.py and test_fhir_search.py.
- Anything else under /fhir/R4/ is 404 (an OperationOutcome) for everyone.
"""

from __future__ import annotations

from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    LOGIN,
    NO_PATIENT_DATA,
    NOT_FOUND,
    ONE_PATIENT,
    PATIENT_LIST,
    Route,
    expect,
)


def _alex(cast: Any) -> dict[str, Any]:
    return {"resource_type": "Patient", "ident": str(cast["patient_alex"].pk)}


ROUTES = [
    Route("fhir:metadata", expect(ALLOWED), reads=NO_PATIENT_DATA),
    Route(
        "fhir:search",
        expect(LOGIN),
        kwargs=lambda cast: {"resource_type": "Observation"},
        note="only a backend client's access token; everyone else 401",
        reads=PATIENT_LIST,
    ),
    Route(
        "fhir:read",
        expect(LOGIN),
        kwargs=_alex,
        note="only a backend client's access token; everyone else 401",
        reads=ONE_PATIENT,
    ),
    Route(
        "fhir:unknown",
        expect(NOT_FOUND),
        kwargs=lambda cast: {"path": "Patient/1/_history"},
        reads=NO_PATIENT_DATA,
    ),
]
