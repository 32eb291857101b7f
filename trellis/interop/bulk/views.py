"""The Bulk Data endpoints under /fhir/R4/: kick-off, status (poll and cancel), files.

Each asks `caller.authenticate` for the backend client (401 without a valid token), reads
the request (`params`), and calls one service. Refusals are OperationOutcomes with the
status that fits: 400 for a request Trellis cannot run, 403 for types the token may not
read, 404 for a group, job or file outside the caller's reach. Exempt from CSRF: a backend
client sends a bearer token, never a cookie.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from trellis.core import timeutil
from trellis.interop.bulk import files, params, services
from trellis.interop.caller import Caller, Unauthorized, authenticate
from trellis.interop.fhir.export import EXPORT_TYPES, patient_ids_in_group
from trellis.interop.fhir.resources import instant
from trellis.interop.models import ExportJob, ExportLevel, ExportStatus

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"
RETRY_AFTER_SECONDS = 5


class Refused(Exception):
    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status, self.code, self.diagnostics = status, code, diagnostics


def outcome(status: int, code: str, diagnostics: str, severity: str = "error") -> HttpResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
    response = HttpResponse(json.dumps(body), status=status, content_type=FHIR_JSON)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fhir", error="invalid_token"'
    return response


def _fhir_endpoint(
    methods: tuple[str, ...],
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Authenticate the backend client, allow only `methods`, and turn every refusal into
    an OperationOutcome."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @csrf_exempt
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in methods:
                response = outcome(405, "not-supported", f"{request.method} is not supported here.")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                caller = authenticate(request)
                return view(request, caller, *args, **kwargs)
            except Unauthorized as error:
                return outcome(401, "login", str(error))
            except params.KickoffProblem as problem:
                return outcome(problem.status, problem.code, problem.diagnostics)
            except Refused as refused:
                return outcome(refused.status, refused.code, refused.diagnostics)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorate


def _kickoff(
    request: HttpRequest, caller: Caller, level: ExportLevel, group_id: str = ""
) -> HttpResponse:
    export = params.parse_kickoff(
        {name: request.GET.getlist(name) for name in request.GET},
        prefer=request.headers.get("Prefer", ""),
        exportable=EXPORT_TYPES,
        readable=[t for t in EXPORT_TYPES if caller.may_read(t)],
    )
    if level == ExportLevel.GROUP and patient_ids_in_group(caller.organization, group_id) is None:
        raise Refused(404, "not-found", f"Group/{group_id} is not known.")
    job = services.start_export(
        caller=caller,
        level=level,
        group_id=group_id,
        request_url=request.build_absolute_uri(),
        export=export,
    )
    response = outcome(
        202, "informational", "The export has started; poll Content-Location.", "information"
    )
    response["Content-Location"] = request.build_absolute_uri(
        reverse("bulk:status", kwargs={"job_id": job.pk})
    )
    return response


@_fhir_endpoint(("GET",))
def export_system(request: HttpRequest, caller: Caller) -> HttpResponse:
    """`GET /fhir/R4/$export`: everything of the clinic the token may read."""
    return _kickoff(request, caller, ExportLevel.SYSTEM)


@_fhir_endpoint(("GET",))
def export_patients(request: HttpRequest, caller: Caller) -> HttpResponse:
    """`GET /fhir/R4/Patient/$export`: every patient of the clinic and their records."""
    return _kickoff(request, caller, ExportLevel.PATIENT)


@_fhir_endpoint(("GET",))
def export_group(request: HttpRequest, caller: Caller, group_id: str) -> HttpResponse:
    """`GET /fhir/R4/Group/<id>/$export`: the patients of one group (a program)."""
    return _kickoff(request, caller, ExportLevel.GROUP, group_id)


def _job(caller: Caller, job_id: Any) -> ExportJob:
    job = services.access_job(caller, job_id)
    if job is None:
        raise Refused(404, "not-found", "No export with this id is yours.")
    return job


def manifest(request: HttpRequest, job: ExportJob) -> dict[str, Any]:
    """The completion manifest: where each file is and how many resources it holds."""
    return {
        "transactionTime": instant(job.transaction_time or job.created_at),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": entry["type"],
                "url": request.build_absolute_uri(
                    reverse("bulk:file", kwargs={"job_id": job.pk, "name": entry["type"]})
                ),
                "count": entry["count"],
            }
            for entry in job.output
        ],
        "error": [],
    }


@_fhir_endpoint(("GET", "DELETE"))
def status(request: HttpRequest, caller: Caller, job_id: Any) -> HttpResponse:
    """Poll an export (`GET`) or cancel it (`DELETE`)."""
    job = _job(caller, job_id)
    if request.method == "DELETE":
        if not services.cancel_export(job, caller=caller):
            raise Refused(404, "not-found", f"The export was already {job.status}.")
        return outcome(202, "informational", "The export was cancelled.", "information")
    if job.status in (ExportStatus.ACCEPTED, ExportStatus.RUNNING):
        response = HttpResponse(status=202)
        response["X-Progress"] = (job.progress or str(job.status))[:100]
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    if job.status == ExportStatus.COMPLETED:
        response = HttpResponse(json.dumps(manifest(request, job)), content_type="application/json")
        if job.expires_at is not None:
            response["Expires"] = http_date(job.expires_at.timestamp())
        response["Cache-Control"] = "no-store"
        return response
    if job.status == ExportStatus.FAILED:
        return outcome(500, "exception", job.error or "The export failed.")
    raise Refused(404, "not-found", f"The export was {job.status}; its files are gone.")


@_fhir_endpoint(("GET",))
def download(request: HttpRequest, caller: Caller, job_id: Any, name: str) -> HttpResponseBase:
    """One NDJSON file of a completed export, for the client that asked for it."""
    job = _job(caller, job_id)
    now = timeutil.now()
    if job.status != ExportStatus.COMPLETED or (job.expires_at and job.expires_at <= now):
        raise Refused(404, "not-found", "This export has no files now.")
    listed = {entry["type"] for entry in job.output}
    path = files.file_path(job.pk, name)
    if name not in listed or path is None or not path.is_file():
        raise Refused(404, "not-found", f"This export has no {name} file.")
    services.note_download(job, caller=caller, resource_type=name)
    response = FileResponse(path.open("rb"), content_type=NDJSON)
    response["Cache-Control"] = "no-store"
    return response
