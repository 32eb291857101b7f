"""Answers in FHIR's own form: a resource as `application/fhir+json`, and every refusal as
an OperationOutcome with the HTTP status that fits it."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from trellis.interop.fhir.systems import CONTENT_TYPE


class FhirError(Exception):
    """A request refused: its HTTP status, FHIR's issue type, and the words saying why."""

    status = 400
    code = "invalid"

    def __init__(self, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics


class BadRequest(FhirError):
    status, code = 400, "invalid"


class NotSupported(FhirError):
    status, code = 400, "not-supported"


class NotAuthenticated(FhirError):
    status, code = 401, "login"


class Forbidden(FhirError):
    status, code = 403, "forbidden"


class NotFound(FhirError):
    status, code = 404, "not-found"


class MethodNotAllowed(FhirError):
    status, code = 405, "not-supported"


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def fhir_response(body: dict[str, Any], status: int = 200) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


def error_response(error: FhirError) -> HttpResponse:
    response = fhir_response(operation_outcome(error.code, error.diagnostics), error.status)
    if isinstance(error, NotAuthenticated):
        response["WWW-Authenticate"] = 'Bearer realm="fhir", error="invalid_token"'
    if isinstance(error, MethodNotAllowed):
        response["Allow"] = "GET, HEAD"
    return response
