"""Who may use the connected-systems pages, the SMART token endpoint and discovery, and Bulk
Data export (checked by the authorization matrix test, tests/test_authorization_matrix.py).

Decisions:
- The connected-systems pages are for the clinic's admins, like API tokens: other staff
  and patients get 403; integration tokens do not open pages (the login page). A backend
  client of another clinic is 404, exactly like one that does not exist.
- The token endpoint and the discovery document are public: a backend client proves who
  it is with its signed assertion, not with a session or an API token. A POST with no
  assertion is a 400 (`invalid_request`) for everyone, never a 500.
- Bulk Data export answers only a backend client's access token (trellis/interop/caller):
  a session or an API token of the JSON API is not one, so every principal of the matrix
  gets 401. Their behaviour with real tokens is tested in trellis/interop/tests/test_bulk*.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    PATIENT_LIST,
    Route,
    expect,
)
from trellis.interop.models import BackendClient, ExportJob, ExportLevel, ExportStatus
from trellis.interop.smart import keys

_ADMIN_ONLY = expect(FORBIDDEN, anonymous=LOGIN, token_read=LOGIN, token_write=LOGIN, admin=ALLOWED)
_BACKEND_CLIENTS_ONLY = expect(LOGIN)
# A fixed public key for the matrix's client (the matrix never signs with it).
_MATRIX_JWK = {
    "kty": "EC",
    "kid": "matrix-1",
    "crv": "P-384",
    "x": "__X9VsZr7uzAjshhkTPXhOVR8cX_bKjbEikJJf-EikSk5lZWyiaOPjqvax1PvhNX",
    "y": "0esvg3cdEz3GvEgg1TiT5qu9nshXRfY4OVPlfTPAcVJMfzyUFpjEbLUURU3cFhhw",
}


def _backend_client(cast: Any) -> BackendClient:
    client = BackendClient.objects.filter(client_id="matrix-ehr").first()
    if client is None:
        client = BackendClient.objects.create(
            organization=cast.clinics["riverside"],
            name="Matrix EHR",
            client_id="matrix-ehr",
            jwks=keys.check_jwks({"keys": [_MATRIX_JWK]}),
            scopes="system/*.read",
        )
    return client


def _client_pk(cast: Any) -> dict[str, Any]:
    return {"pk": _backend_client(cast).pk}


def _export_job(cast: Any) -> ExportJob:
    client = _backend_client(cast)
    job = ExportJob.objects.filter(client=client).first()
    if job is None:
        job = ExportJob.objects.create(
            organization=client.organization,
            client=client,
            level=ExportLevel.SYSTEM,
            types=["Patient"],
            request_url="http://testserver/fhir/R4/$export",
            status=ExportStatus.ACCEPTED,
        )
    return job


ROUTES: list[Route] = [
    Route(
        "connections:list", _ADMIN_ONLY, note="the clinic's backend clients", reads=NO_PATIENT_DATA
    ),
    Route("connections:register", _ADMIN_ONLY, note="the registration form", reads=NO_PATIENT_DATA),
    Route("connections:detail", _ADMIN_ONLY, kwargs=_client_pk, reads=NO_PATIENT_DATA),
    Route(
        "connections:set_active",
        _ADMIN_ONLY,
        method="POST",
        kwargs=_client_pk,
        data=lambda cast: {"active": "1"},
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "connections:replace_keys",
        _ADMIN_ONLY,
        method="POST",
        kwargs=_client_pk,
        data=lambda cast: {"jwks_text": ""},
        note="an empty key set: the page again with the reason (400)",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "smart:token",
        expect(ALLOWED),
        method="POST",
        note="public; no assertion: 400 invalid_request",
        reads=NO_PATIENT_DATA,
    ),
    Route("smart:configuration", expect(ALLOWED), note="public discovery", reads=NO_PATIENT_DATA),
]


def _job_kwargs(cast: Any) -> dict[str, Any]:
    return {"job_id": _export_job(cast).pk}


BULK_ROUTES: list[Route] = [
    Route("bulk:export", _BACKEND_CLIENTS_ONLY, reads=NO_PATIENT_DATA),
    Route("bulk:patient_export", _BACKEND_CLIENTS_ONLY, reads=NO_PATIENT_DATA),
    Route(
        "bulk:group_export",
        _BACKEND_CLIENTS_ONLY,
        kwargs=lambda cast: {"group_id": str(uuid.uuid4())},
        reads=NO_PATIENT_DATA,
    ),
    Route("bulk:status", _BACKEND_CLIENTS_ONLY, kwargs=_job_kwargs, reads=NO_PATIENT_DATA),
    Route(
        "bulk:file",
        _BACKEND_CLIENTS_ONLY,
        kwargs=lambda cast: {**_job_kwargs(cast), "name": "Patient"},
        note="the files carry patients' data: their disclosure is audited when the job completes",
        reads=PATIENT_LIST,
    ),
]

ROUTES += BULK_ROUTES
