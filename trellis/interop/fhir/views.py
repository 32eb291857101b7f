"""The FHIR endpoints: the CapabilityStatement, read and search. Read-only: every other
method is refused with 405."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from trellis.core import timeutil
from trellis.interop.caller import Caller, Unauthorized, authenticate
from trellis.interop.fhir import services
from trellis.interop.fhir.capability import capability_statement
from trellis.interop.fhir.outcome import (
    BadRequest,
    FhirError,
    Forbidden,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    NotSupported,
    error_response,
    fhir_response,
)
from trellis.interop.fhir.search import (
    JSON_FORMATS,
    SearchError,
    UnsupportedParameter,
    parse_query,
)
from trellis.interop.fhir.sources import SOURCES
from trellis.interop.fhir.systems import BASE_PATH

View = Callable[..., HttpResponse]


def _answers_errors(view: View) -> View:
    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            if request.method not in ("GET", "HEAD"):
                raise MethodNotAllowed(
                    f"{request.method} is not supported here: this FHIR server is read-only."
                )
            return view(request, *args, **kwargs)
        except FhirError as error:
            return error_response(error)

    return wrapped


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri(BASE_PATH)


def _pairs(request: HttpRequest) -> list[tuple[str, str]]:
    return [(key, value) for key, values in request.GET.lists() for value in values]


def _caller(request: HttpRequest, resource_type: str) -> Caller:
    try:
        caller = authenticate(request)
    except Unauthorized as error:
        raise NotAuthenticated(str(error)) from None
    if resource_type not in SOURCES:
        raise NotFound(
            f"The resource type '{resource_type}' is not supported by this server; "
            f"supported: {', '.join(sorted(SOURCES))}."
        )
    if not caller.may_read(resource_type):
        raise Forbidden(f"The access token's scopes do not allow reading {resource_type}.")
    return caller


@_answers_errors
def metadata(request: HttpRequest) -> HttpResponse:
    token_url = request.build_absolute_uri(f"{BASE_PATH}/auth/token")
    return fhir_response(capability_statement(base=_base(request), token_url=token_url))


@_answers_errors
def search(request: HttpRequest, resource_type: str) -> HttpResponse:
    caller = _caller(request, resource_type)
    source = SOURCES[resource_type]
    pairs = _pairs(request)
    zone = timeutil.zone(caller.organization.time_zone)
    try:
        query = parse_query(pairs, source.params, targets=source.targets, zone=zone)
    except UnsupportedParameter as error:
        raise NotSupported(str(error)) from None
    except SearchError as error:
        raise BadRequest(str(error)) from None
    bundle = services.answer_search(
        caller,
        resource_type,
        query,
        base=_base(request),
        pairs=pairs,
        query_text=request.META.get("QUERY_STRING", ""),
    )
    return fhir_response(bundle)


@_answers_errors
def read(request: HttpRequest, resource_type: str, ident: str) -> HttpResponse:
    caller = _caller(request, resource_type)
    for name, value in _pairs(request):
        if name != "_format":
            raise NotSupported(f"The parameter '{name}' is not supported on a read.")
        if value not in JSON_FORMATS:
            raise NotSupported(f"_format '{value}' is not supported: this server speaks JSON.")
    return fhir_response(services.answer_read(caller, resource_type, ident))


@_answers_errors
def unknown(request: HttpRequest, path: str) -> HttpResponse:
    raise NotFound(f"Nothing is served at {BASE_PATH}/{path}.")
