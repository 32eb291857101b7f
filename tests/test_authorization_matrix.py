"""Every URL pattern and API operation, requested by every kind of caller.

Who may use each route is declared, area by area, in
`tests/authorization/expectations_<area>.py` (the vocabulary is in
tests/authorization/matrix.py). This module fails when a URL or API operation has
no declaration, when a declaration names a route that no longer exists, and when
any caller gets anything other than the declared outcome. It never accepts a 500.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests.authorization
from tests.authorization.matrix import PRINCIPALS, Outcome, Route
from trellis.accounts.models import ApiToken, TokenScope
from trellis.accounts.tokens import digest, display_prefix, new_secret
from trellis.api import api
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


CASES = [(name, principal) for name in sorted(ROUTES) for principal in PRINCIPALS]


@pytest.mark.parametrize(("route_name", "principal"), CASES, ids=[f"{n}|{p}" for n, p in CASES])
def test_route_gives_declared_outcome(cast: Any, route_name: str, principal: str) -> None:
    route = ROUTES[route_name]
    who = PRINCIPALS[principal]
    client = Client()
    headers: dict[str, str] = {}
    if who is None:
        pass
    elif who.startswith("token:"):
        scope = TokenScope.READ_WRITE if who.endswith("read_write") else TokenScope.READ
        headers["Authorization"] = f"Bearer {_make_token(cast, scope)}"
    else:
        sign_in(client, cast[who])
    args = route.kwargs(cast) if route.kwargs else {}
    body = route.data(cast) if route.data else {}

    if route.name.split(" ", 1)[0] in {m.upper() for m in OPERATION_METHODS}:
        method, path = _api_path(route, args)
        response = client.generic(
            method,
            path,
            json.dumps(body) if body else "",
            content_type="application/json",
            headers=headers,
        )
    else:
        method = route.method
        url = reverse(route.name, kwargs=args)
        if method == "GET":
            response = client.get(url, headers=headers)
        else:
            response = client.generic(
                method,
                url,
                urlencode(body),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )

    got = _outcome(response, method)
    wanted = route.expect[principal]
    assert got == wanted, (
        f"{route.name} as {principal}: expected {wanted}, got {got} "
        f"(status {response.status_code}, location {response.headers.get('Location', '-')})"
    )
