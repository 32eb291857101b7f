"""Answers the server gives before, or instead of, a page: too large a request (413), too
busy (503), the database out of reach (503).

Each speaks the language of the address it answers: the API's one error body under
`/api/`, a FHIR OperationOutcome under `/fhir/`, and a plain page everywhere else. None
of them touches the database, the session or the person's account, so they work when those
do not, and none names anything about the request beyond the limit it broke.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
FHIR_PREFIX = "/fhir/"
# FHIR R4's JSON media type (the same as trellis.interop.fhir.systems.CONTENT_TYPE, which
# core cannot import: it stands below interop).
FHIR_CONTENT_TYPE = "application/fhir+json; fhirVersion=4.0"

# FHIR's issue type for each status answered here (http://hl7.org/fhir/issue-type).
_FHIR_CODES = {413: "too-long", 503: "transient"}


def problem_response(
    request: HttpRequest,
    status: int,
    message: str,
    *,
    retry_after: int | None = None,
) -> HttpResponse:
    """`message` as the answer with `status`, shaped for the address asked."""
    path = request.path_info or request.path
    if path.startswith(API_PREFIX):
        response = HttpResponse(
            json.dumps({"detail": message, "errors": []}),
            status=status,
            content_type="application/json",
        )
    elif path.startswith(FHIR_PREFIX):
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": _FHIR_CODES.get(status, "exception"),
                    "diagnostics": message,
                }
            ],
        }
        response = HttpResponse(
            json.dumps(outcome, ensure_ascii=False), status=status, content_type=FHIR_CONTENT_TYPE
        )
    else:
        response = HttpResponse(_page(status, message), status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def _page(status: int, message: str) -> str:
    """A plain page with no stylesheet, script or link: it must show when nothing else can."""
    title = escape(
        _("Trellis cannot answer right now") if status >= 500 else _("Request too large")
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>"
        f"<body><main><h1>{title}</h1><p>{escape(message)}</p></main></body></html>"
    )
