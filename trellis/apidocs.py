"""The API documentation page, /docs/api/: the OpenAPI document drawn as one HTML page.

Decision: the page is drawn on the server from the same document /api/v1/openapi.json
serves, not by an interactive viewer in the browser. It needs no script and nothing from
another site, so the strict Content-Security-Policy holds; it reads well on a phone; and
it can never disagree with the API, since both come from the same NinjaAPI object.
Anyone may read it, signed in or not, as anyone may read the OpenAPI document: it
describes the endpoints and holds no data (docs/api.md).

This module stands beside trellis.api (above every app), since it reads the whole API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trellis.api import api

app_name = "apidocs"

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
SCHEMA_PREFIX = "#/components/schemas/"


def schema_anchor(name: str) -> str:
    return f"schema-{name}"


def type_html(schema: Mapping[str, Any]) -> SafeString:
    """A field's type in a few words, with a link to a named schema."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(SCHEMA_PREFIX)
        return format_html('<a href="#{}">{}</a>', schema_anchor(name), name)
    if "anyOf" in schema:
        parts = (type_html(option) for option in schema["anyOf"])
        return mark_safe(conditional_escape(_(" or ")).join(parts))  # noqa: S308 (all escaped)
    if "enum" in schema:
        values = format_html_join(", ", "<code>{}</code>", ((v,) for v in schema["enum"]))
        return format_html("{} {}", _("one of"), values)
    kind = schema.get("type")
    if kind == "array":
        return format_html("{} {}", _("list of"), type_html(schema.get("items", {})))
    if kind is None:
        return format_html("{}", _("any"))
    if "format" in schema:
        return format_html("{} ({})", kind, schema["format"])
    return format_html("{}", kind)


def constraints(schema: Mapping[str, Any]) -> str:
    """Limits on a value (length, range, pattern, default), in words."""
    words = {
        "minLength": _("at least %(value)s characters"),
        "maxLength": _("at most %(value)s characters"),
        "minimum": _("at least %(value)s"),
        "maximum": _("at most %(value)s"),
        "pattern": _("matches %(value)s"),
        "default": _("default %(value)s"),
    }
    parts = [text % {"value": schema[key]} for key, text in words.items() if key in schema]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            parts.extend(
                text % {"value": option[key]} for key, text in words.items() if key in option
            )
    return "; ".join(parts)


def prose(text: str) -> list[dict[str, Any]]:
    """Text with `code` spans, as segments a template writes without marking anything safe."""
    return [
        {"code": number % 2 == 1, "text": part}
        for number, part in enumerate(re.split(r"`", text or ""))
        if part
    ]


def fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_html(field),
            "required": name in required,
            "description": field.get("description", ""),
            "constraints": constraints(field),
        }
        for name, field in schema.get("properties", {}).items()
    ]


def _body_schema(content: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not content:
        return None
    for media in content.values():
        if "schema" in media:
            return dict(media["schema"])
    return None


def _auth_label(security: list[Mapping[str, Any]] | None, schemes: Mapping[str, Any]) -> str:
    if security is None:
        return ""
    names = [name for requirement in security for name in requirement]
    if not names:
        return _("No sign-in needed.")
    labels = [_scheme_label(schemes.get(name, {})) for name in names]
    return _("Sign in with: %(ways)s.") % {"ways": _(" or ").join(labels)}


def _scheme_label(scheme: Mapping[str, Any]) -> str:
    if scheme.get("type") == "http" and scheme.get("scheme") == "bearer":
        return _("an API token (Authorization: Bearer ...)")
    if scheme.get("type") == "apiKey" and scheme.get("in") == "cookie":
        return _("the web app's session cookie (writes also send the CSRF token)")
    return str(scheme.get("type", "?"))


def operation(
    method: str, url: str, spec: Mapping[str, Any], schemes: Mapping[str, Any]
) -> dict[str, Any]:
    body = spec.get("requestBody")
    body_schema = _body_schema(body.get("content") if body else None)
    return {
        "id": spec.get("operationId") or f"{method}-{url}",
        "method": method.upper(),
        "path": url,
        "summary": spec.get("summary", ""),
        "description": prose(spec.get("description", "")),
        "auth": _auth_label(spec.get("security"), schemes),
        "parameters": [
            {
                "name": p["name"],
                "where": p["in"],
                "type": type_html(p.get("schema", {})),
                "required": bool(p.get("required")),
                "description": p.get("description", ""),
                "constraints": constraints(p.get("schema", {})),
            }
            for p in spec.get("parameters", [])
        ],
        "body": type_html(body_schema) if body_schema else None,
        "body_required": bool(body and body.get("required")),
        "responses": [
            {
                "status": status,
                "description": response.get("description", ""),
                "type": (
                    type_html(schema) if (schema := _body_schema(response.get("content"))) else None
                ),
            }
            for status, response in spec.get("responses", {}).items()
        ],
    }


def document(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as the page shows it: operations grouped by tag (in the order
    they first appear), then every named schema."""
    components = schema.get("components", {})
    schemes = components.get("securitySchemes", {})
    groups: dict[str, list[dict[str, Any]]] = {}
    for url, methods in schema.get("paths", {}).items():
        ordered = sorted(
            methods.items(),
            key=lambda item: METHOD_ORDER.index(item[0]) if item[0] in METHOD_ORDER else 99,
        )
        for method, spec in ordered:
            tag = (spec.get("tags") or [_("other")])[0]
            groups.setdefault(tag, []).append(operation(method, url, spec, schemes))
    return {
        "title": schema.get("info", {}).get("title", ""),
        "version": schema.get("info", {}).get("version", ""),
        "description": prose(schema.get("info", {}).get("description", "")),
        "schemes": [
            {"name": name, "label": _scheme_label(scheme)} for name, scheme in schemes.items()
        ],
        "groups": [{"tag": tag, "operations": ops} for tag, ops in groups.items()],
        "schemas": [
            {
                "name": name,
                "anchor": schema_anchor(name),
                "description": spec.get("description", ""),
                "fields": fields(spec),
                "values": spec.get("enum", []),
                "type": "" if "properties" in spec or "enum" in spec else type_html(spec),
            }
            for name, spec in sorted(components.get("schemas", {}).items())
        ],
    }


@require_GET
def page(request: HttpRequest) -> HttpResponse:
    context = document(api.get_openapi_schema())
    context["openapi_url"] = reverse("api:openapi-json")
    return render(request, "apidocs/page.html", context)


urlpatterns: list[URLPattern] = [path("", page, name="page")]
