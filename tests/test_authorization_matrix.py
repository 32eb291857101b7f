"""Every URL pattern and API operation, requested by every kind of caller.

Who may use each route is declared, area by area, in
`tests/authorization/expectations_<area>.py` (the vocabulary is in
tests/authorization/matrix.py). This module fails when a URL or API operation has
no declaration, when a declaration names a route that no longer exists, and when
any caller gets anything other than the declared outcome. It never accepts a 500.

It also fails when a route does not say what it shows of patients' clinical data, when
staff or an API token are shown such data and the audit trail has no new event naming the
patient (or the set of patients, for a list), and when a patient's read of their own data
is written to the trail as a read (docs/audit.md).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db.models import Q
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests.authorization
from tests.authorization.matrix import PATIENTS, PRINCIPALS, STAFF, TOKENS, Outcome, Reads, Route
from trellis.accounts.models import ApiToken, TokenScope
from trellis.accounts.tokens import digest, display_prefix, new_secret
from trellis.api import api
from trellis.audit.models import AuditEvent
from trellis.audit.queries import about_patient
from trellis.audit.reads import LIST_READS, Read
from trellis.care.models import Enrollment
from trellis.core.testing import sign_in

API_PREFIX = "/api/v1"
OPERATION_METHODS = ("get", "post", "put", "patch", "delete")


def declared_routes() -> dict[str, Route]:
    """Every Route of every `expectations_*` module in tests/authorization/."""
    routes: dict[str, Route] = {}
    for module in pkgutil.iter_modules(tests.authorization.__path__):
        if not module.name.startswith("expectations_"):
            continue
        loaded = importlib.import_module(f"tests.authorization.{module.name}")
        for route in loaded.ROUTES:
            assert route.name not in routes, f"{route.name} is declared twice"
            routes[route.name] = route
    return routes


def url_names(patterns: list[Any] | None = None, namespace: str = "") -> set[str]:
    """Every named URL pattern, as "namespace:name" (the API's own patterns excluded)."""
    found: set[str] = set()
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}"
                if namespace and entry.namespace
                else (entry.namespace or namespace)
            )
            if inner == "api":
                continue  # operations are enumerated from the OpenAPI schema instead
            found |= url_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"URL pattern {entry.pattern} has no name"
            found.add(f"{namespace}:{entry.name}" if namespace else entry.name)
    return found


def api_operations() -> set[str]:
    schema = api.get_openapi_schema()
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in OPERATION_METHODS
    }


ROUTES = declared_routes()


def test_every_url_and_api_operation_is_declared() -> None:
    existing = url_names() | api_operations() | {"api:openapi-json"}
    missing = sorted(existing - set(ROUTES))
    stale = sorted(set(ROUTES) - existing)
    assert not missing, f"routes with no access declaration: {missing}"
    assert not stale, f"declarations for routes that do not exist: {stale}"


def test_every_declaration_names_every_principal() -> None:
    for route in ROUTES.values():
        assert set(route.expect) == set(PRINCIPALS), (
            f"{route.name} does not decide for every principal"
        )


def _outcome(response: Any, method: str) -> Outcome | str:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status == 401:
        return Outcome.LOGIN
    if status in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        return Outcome.LOGIN if location.startswith(reverse("accounts:login")) else Outcome.ALLOWED
    if status == 403:
        return Outcome.FORBIDDEN
    if status == 404:
        return Outcome.NOT_FOUND
    if status == 405:
        return f"method {method} not allowed"
    # Below 400, or refused for its input after access was granted (bad token, invalid body,
    # conflict, gone, throttled): the caller got past the permission layer.
    if status < 400 or status in (400, 409, 410, 422, 429):
        return Outcome.ALLOWED
    return f"unexpected status {status}"


def _make_token(cast: Any, scope: str) -> str:
    secret = new_secret()
    ApiToken.objects.create(
        organization=cast.clinics["riverside"],
        name=f"matrix {scope}",
        prefix=display_prefix(secret),
        token_hash=digest(secret),
        scope=scope,
    )
    return secret


def _api_path(route: Route, args: dict[str, Any]) -> tuple[str, str]:
    method, _, path = route.name.partition(" ")
    missing = set(re.findall(r"{(\w+)}", path)) - set(args)
    assert not missing, f"{route.name} needs kwargs for {sorted(missing)}"
    return method, re.sub(r"{(\w+)}", lambda m: str(args[m.group(1)]), path)


@dataclass
class Knock:
    """A route's request as one principal, ready to send: the fixtures it needs are built
    first, so what they write is not taken for what the request wrote."""

    client: Client
    headers: dict[str, str]
    args: dict[str, Any]
    body: dict[str, Any]
    caller: Q  # the audit events this principal writes (none for the anonymous visitor)


def _prepare(cast: Any, route: Route, principal: str) -> Knock:
    who = PRINCIPALS[principal]
    client = Client()
    headers: dict[str, str] = {}
    caller = Q(pk__in=[])
    if who is None:
        pass
    elif who.startswith("token:"):
        scope = TokenScope.READ_WRITE if who.endswith("read_write") else TokenScope.READ
        secret = _make_token(cast, scope)
        headers["Authorization"] = f"Bearer {secret}"
        caller = Q(actor_label=f"API token {display_prefix(secret)}")
    else:
        sign_in(client, cast[who])
        caller = Q(actor_id=cast[who].pk)
    args = route.kwargs(cast) if route.kwargs else {}
    body = route.data(cast) if route.data else {}
    return Knock(client, headers, args, body, caller)


def _send(route: Route, knock: Knock) -> tuple[Any, str]:
    """The response and the method it was requested with."""
    client, headers, args, body = knock.client, knock.headers, knock.args, knock.body
    if route.name.split(" ", 1)[0] in {m.upper() for m in OPERATION_METHODS}:
        method, path = _api_path(route, args)
        response = client.generic(
            method,
            path,
            json.dumps(body) if body else "",
            content_type="application/json",
            headers=headers,
        )
        return response, method
    method = route.method
    url = reverse(route.name, kwargs=args)
    if method == "GET":
        return client.get(url, headers=headers), method
    response = client.generic(
        method,
        url,
        urlencode(body),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    return response, method


CASES = [(name, principal) for name in sorted(ROUTES) for principal in PRINCIPALS]


@pytest.mark.parametrize(("route_name", "principal"), CASES, ids=[f"{n}|{p}" for n, p in CASES])
def test_route_gives_declared_outcome(cast: Any, route_name: str, principal: str) -> None:
    route = ROUTES[route_name]
    response, method = _send(route, _prepare(cast, route, principal))

    got = _outcome(response, method)
    wanted = route.expect[principal]
    assert got == wanted, (
        f"{route.name} as {principal}: expected {wanted}, got {got} "
        f"(status {response.status_code}, location {response.headers.get('Location', '-')})"
    )


# Every read of patient data by staff or a token is audited -------------------------------


def test_every_declaration_says_what_it_shows_of_patient_data() -> None:
    undecided = sorted(name for name, route in ROUTES.items() if route.reads is None)
    assert not undecided, (
        f"routes that do not say whether they show patients' clinical data: {undecided} "
        "(give each Route reads=NO_PATIENT_DATA, ONE_PATIENT or PATIENT_LIST)"
    )


def _shows_patient_data(route: Route) -> bool:
    return route.reads in (Reads.ONE_PATIENT, Reads.PATIENT_LIST)


READS_AUDITED = [
    (name, principal)
    for name in sorted(ROUTES)
    for principal in (*STAFF, *TOKENS)
    if _shows_patient_data(ROUTES[name]) and ROUTES[name].expect[principal] == Outcome.ALLOWED
]


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _shows_alex(response: Any, cast: Any) -> bool:
    """Whether the answer names patient_alex: his name, or the id of one of his enrollments."""
    text = response.content.decode("utf-8", errors="replace")
    alex = cast["patient_alex"]
    enrollment_ids = Enrollment.objects.filter(patient=alex).values_list("pk", flat=True)
    return alex.full_name in text or any(str(pk) in text for pk in enrollment_ids)


@pytest.mark.parametrize(
    ("route_name", "principal"), READS_AUDITED, ids=[f"{n}|{p}" for n, p in READS_AUDITED]
)
def test_a_read_of_patient_data_by_staff_or_a_token_is_audited(
    cast: Any, route_name: str, principal: str
) -> None:
    """One patient's data leaves an event by the caller naming the patient; a list leaves
    one event naming the set (its count and ids), with patient_alex in it when shown."""
    route = ROUTES[route_name]
    knock = _prepare(cast, route, principal)
    before = _last_event_id()
    response, method = _send(route, knock)
    assert _outcome(response, method) == Outcome.ALLOWED, response.status_code

    alex = cast["patient_alex"]
    new = AuditEvent.objects.filter(knock.caller, id__gt=before)
    naming_alex = new.filter(about_patient(alex.pk))
    if route.reads == Reads.ONE_PATIENT:
        assert naming_alex.exists(), (
            f"{route.name} as {principal} showed patient_alex's data and left no audit event "
            f"naming him (new events by the caller: {list(new.values_list('action', flat=True))})"
        )
        return
    lists = list(new.filter(action__in=[str(a) for a in LIST_READS]))
    for event in lists:
        assert event.details["count"] == len(event.details["patients"]) > 0, event.details
    if _shows_alex(response, cast):
        assert naming_alex.filter(action__in=[str(a) for a in LIST_READS]).exists(), (
            f"{route.name} as {principal} listed patient_alex and left no audit event naming "
            f"the set he is in (new events by the caller: {[e.action for e in lists]})"
        )


PATIENTS_OWN_READS = [
    (name, principal)
    for name in sorted(ROUTES)
    for principal in PATIENTS
    if _shows_patient_data(ROUTES[name]) and ROUTES[name].expect[principal] == Outcome.ALLOWED
]
READ_ACTIONS = [str(a) for a in Read if a not in (Read.TRAIL, Read.TRAIL_EXPORT)]


@pytest.mark.parametrize(
    ("route_name", "principal"),
    PATIENTS_OWN_READS,
    ids=[f"{n}|{p}" for n, p in PATIENTS_OWN_READS],
)
def test_a_patient_reading_their_own_data_is_not_audited_as_a_read(
    cast: Any, route_name: str, principal: str
) -> None:
    """The decision in docs/audit.md: patients' reads of their own data are not in the
    trail (their sign-ins and everything they write are)."""
    route = ROUTES[route_name]
    knock = _prepare(cast, route, principal)
    before = _last_event_id()
    _send(route, knock)
    reads = AuditEvent.objects.filter(knock.caller, id__gt=before, action__in=READ_ACTIONS)
    assert not reads.exists(), list(reads.values_list("action", flat=True))
