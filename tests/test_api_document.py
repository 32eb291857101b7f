"""The OpenAPI document at /api/v1/openapi.json says what the API does.

Every operation declares the refusals it can give, with the API's one error body; every
schema name belongs to one class (ninja merges two classes of the same name into one
component without a word, so one operation would document the other's fields); values
from a fixed list are documented as that list. tests/test_api_fuzz.py then checks that
the API answers as documented.
"""

from __future__ import annotations

import enum
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from django.test import Client
from ninja import Schema
from ninja.constants import NOT_SET
from ninja.operation import Operation
from pydantic import BaseModel

from trellis.accounts.models import STAFF_ROLES, Role
from trellis.alerts.models import AlertKind, AlertState, Severity
from trellis.api import api
from trellis.appointments.models import Mode
from trellis.care.models import SupportLevel
from trellis.clinic.api import StaffRole
from trellis.core.schemas import ErrorOut

API_PREFIX = "/api/v1"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def operations() -> Iterator[tuple[str, str, Operation]]:
    """(method, path, operation) for every operation of every router of the API."""
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                full = f"{API_PREFIX}/{prefix.strip('/')}/{path.strip('/')}".replace("//", "/")
                for method in operation.methods:
                    yield method, full.rstrip("/"), operation


def _named_types(annotation: Any, seen: set[int]) -> Iterator[type]:
    """Every model and enum an annotation uses, nested ones included."""
    if id(annotation) in seen:
        return
    seen.add(id(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        yield annotation
        return
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _named_types(field.annotation, seen)
        return
    for argument in get_args(annotation):
        yield from _named_types(argument, seen)


def _operation_types(operation: Operation) -> Iterator[type]:
    """The classes an operation's request and answers are made of (not ninja's wrappers)."""
    seen: set[int] = set()
    wrappers = [*operation.models, *(m for m in operation.response_models.values() if m)]
    for wrapper in wrappers:
        for field in wrapper.model_fields.values():
            yield from _named_types(field.annotation, seen)


def name_clashes(classes: list[type]) -> dict[str, set[str]]:
    """Component names shared by different classes, with the classes (module.name)."""
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in classes:
        by_name[cls.__name__].add(f"{cls.__module__}.{cls.__qualname__}")
    return {name: owners for name, owners in by_name.items() if len(owners) > 1}


def test_every_schema_name_belongs_to_one_class() -> None:
    used = [cls for _m, _p, operation in operations() for cls in _operation_types(operation)]
    assert used, "no schema classes found: the walk over the routers is broken"
    assert name_clashes(used) == {}


def test_a_name_shared_by_two_modules_is_found() -> None:
    first = type("NoteIn", (Schema,), {"__annotations__": {"body": str}, "__module__": "a.api"})
    second = type("NoteIn", (Schema,), {"__annotations__": {"note": str}, "__module__": "b.api"})
    assert name_clashes([first, second]) == {"NoteIn": {"a.api.NoteIn", "b.api.NoteIn"}}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document as clients read it (JSON: status codes are strings)."""
    return json.loads(json.dumps(api.get_openapi_schema()))


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    content = operation["requestBody"]["content"]["application/json"]
    return _resolve(document, content["schema"])


def _declared(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return document["paths"][path][method.lower()]["responses"]


def test_every_operation_declares_its_refusals_with_the_error_body(
    document: dict[str, Any],
) -> None:
    error_fields = set(ErrorOut.model_fields)
    for method, path, operation in operations():
        declared = _declared(document, method, path)
        codes = {int(code) for code in declared}
        where = f"{method} {path}"
        expected = {401}
        if "{" in path:
            expected |= {404, 422}
        if any(m.__ninja_param_source__ in {"query", "path"} for m in operation.models):
            expected.add(422)
        if any(m.__ninja_param_source__ == "body" for m in operation.models):
            expected |= {400, 422}
        if method in WRITES:
            expected.add(403)  # the CSRF check of a session, a read-only token
        if operation.throttle_objects or api.throttle not in (NOT_SET, None, []):
            expected.add(429)
        assert expected <= codes, f"{where} does not declare {sorted(expected - codes)}"
        assert any(200 <= code < 300 for code in codes), f"{where} declares no success"
        for code in codes:
            if code < 400:
                continue
            schema = _resolve(
                document, declared[str(code)]["content"]["application/json"]["schema"]
            )
            assert error_fields <= set(schema["properties"]), f"{where} {code} is not ErrorOut"


def test_the_error_body_is_one_named_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorOut"]["properties"]) == {"detail", "errors"}
    refs = {
        response["content"]["application/json"]["schema"].get("$ref")
        for operations_ in document["paths"].values()
        for operation in operations_.values()
        for code, response in operation["responses"].items()
        if code in {"400", "401", "403", "404"}
    }
    assert refs == {"#/components/schemas/ErrorOut"}


def test_the_care_note_and_the_alert_note_document_their_own_fields(
    document: dict[str, Any],
) -> None:
    care_note = _body(document, "post", "/api/v1/care/enrollments/{enrollment_id}/notes")
    assert set(care_note["properties"]) == {"body"}
    alert_note = _body(document, "post", "/api/v1/alerts/{alert_id}/acknowledge")
    assert set(alert_note["properties"]) == {"note"}


def _enum(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """The values a property or parameter may take (a blank one included when allowed)."""
    values: set[str] = set()
    for option in schema.get("anyOf", [schema]):
        option = _resolve(document, option)
        values |= set(option.get("enum", []))
        if "const" in option:
            values.add(option["const"])
    return values


def _parameter(document: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    parameters = document["paths"][path]["get"]["parameters"]
    return next(p["schema"] for p in parameters if p["name"] == name)


def test_parameters_from_a_fixed_list_document_the_list(document: dict[str, Any]) -> None:
    assert _enum(document, _parameter(document, "/api/v1/people", "role")) == set(Role.values)
    alerts = "/api/v1/alerts"
    assert _enum(document, _parameter(document, alerts, "kind")) == {"", *AlertKind.values}
    assert _enum(document, _parameter(document, alerts, "severity")) == {"", *Severity.values}
    assert _enum(document, _parameter(document, alerts, "state")) == {
        "",
        "live",
        *AlertState.values,
    }
    caseload = "/api/v1/care/caseload"
    assert _enum(document, _parameter(document, caseload, "support_level")) == {
        "",
        *SupportLevel.values,
    }
    assert _enum(document, _parameter(document, caseload, "alert_kind")) == {
        "",
        *AlertKind.values,
    }


def test_body_fields_from_a_fixed_list_document_the_list(document: dict[str, Any]) -> None:
    invitation = _body(document, "post", "/api/v1/invitations")
    assert _enum(document, invitation["properties"]["role"]) == STAFF_ROLES
    step_change = _body(document, "post", "/api/v1/care/enrollments/{enrollment_id}/step-changes")
    assert _enum(document, step_change["properties"]["to_level"]) == set(SupportLevel.values)
    booking = _body(document, "post", "/api/v1/sessions/enrollments/{enrollment_id}/appointments")
    assert _enum(document, booking["properties"]["mode"]) == {"", *Mode.values}


def test_the_staff_roles_of_the_document_are_the_clinics_staff_roles() -> None:
    assert set(get_args(StaffRole)) == STAFF_ROLES


def test_the_served_document_is_the_one_checked(db: Any) -> None:
    served = Client().get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(api.get_openapi_schema()))
    # pydantic splits a model whose request and answer forms differ into "-Input"/"-Output".
    assert not re.search(r"-(Input|Output)\b", " ".join(served.json()["components"]["schemas"]))
