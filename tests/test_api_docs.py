"""The API documentation page, /docs/api/: every operation and schema of the OpenAPI
document, drawn on the server, with nothing from another site and no script."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from trellis.apidocs import document, type_html

pytestmark = pytest.mark.django_db


class _Ids(HTMLParser):
    """The id of every element, the address of every link, every tag name used."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if values.get("href"):
            self.hrefs.append(str(values["href"]))
        if values.get("src"):
            self.srcs.append(str(values["src"]))


def _page(client: Client) -> tuple[str, _Ids]:
    response = client.get("/docs/api/")
    assert response.status_code == 200
    html = response.content.decode()
    parsed = _Ids()
    parsed.feed(html)
    return html, parsed


def _openapi(client: Client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json()


def test_page_shows_every_operation_of_the_openapi_document(client: Client) -> None:
    html, parsed = _page(client)
    schema = _openapi(client)
    count = 0
    for url, methods in schema["paths"].items():
        for method, spec in methods.items():
            count += 1
            anchor = spec["operationId"]
            assert anchor in parsed.ids, f"{method.upper()} {url} has no section"
            heading = re.search(rf'<h3 id="{re.escape(anchor)}-title">(.*?)</h3>', html, re.DOTALL)
            assert heading, f"{method.upper()} {url} has no heading"
            assert method.upper() in heading[1]
            assert url in heading[1]
            if spec.get("summary"):
                assert spec["summary"].replace("'", "&#x27;") in html
            for status in spec["responses"]:
                assert f'<th scope="row">{status}</th>' in html
            for parameter in spec.get("parameters", []):
                assert f"<code>{parameter['name']}</code>" in html
    assert count > 30, "the API has its operations"


def test_every_schema_has_a_section_and_every_link_on_the_page_lands(client: Client) -> None:
    _html, parsed = _page(client)
    for name in _openapi(client)["components"]["schemas"]:
        assert f"schema-{name}" in parsed.ids, f"schema {name} has no section"
    for href in parsed.hrefs:
        if href.startswith("#"):
            assert href[1:] in parsed.ids, f"the link {href} lands nowhere"


def test_page_uses_no_script_and_nothing_from_another_site(client: Client) -> None:
    html, parsed = _page(client)
    assert "script" not in parsed.tags
    assert "style" not in parsed.tags
    assert " style=" not in html
    for address in parsed.hrefs + parsed.srcs:
        assert not re.match(r"^(https?:)?//", address), f"{address} is on another site"
    assert "/static/trellis/apidocs/apidocs.css" in html
    response = client.get("/docs/api/")
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_page_links_to_the_openapi_document_and_describes_signing_in(client: Client) -> None:
    html, _parsed = _page(client)
    assert 'href="/api/v1/openapi.json"' in html
    assert "Authorization: Bearer" in html
    assert "session cookie" in html


def test_types_name_their_schema_and_escape_what_they_show() -> None:
    assert type_html({"$ref": "#/components/schemas/PersonOut"}) == (
        '<a href="#schema-PersonOut">PersonOut</a>'
    )
    assert type_html({"type": "array", "items": {"type": "string", "format": "uuid"}}) == (
        "list of string (uuid)"
    )
    assert type_html({"anyOf": [{"type": "integer"}, {"type": "null"}]}) == "integer or null"
    assert type_html({"enum": ["<b>"]}) == "one of <code>&lt;b&gt;</code>"


def test_document_groups_operations_by_their_first_tag() -> None:
    doc = document(
        {
            "info": {"title": "T", "version": "1", "description": "Use `x`."},
            "paths": {
                "/a": {
                    "post": {"operationId": "make_a", "tags": ["alpha"], "responses": {}},
                    "get": {"operationId": "read_a", "tags": ["alpha"], "responses": {}},
                },
                "/b": {"get": {"operationId": "read_b", "responses": {}}},
            },
        }
    )
    assert [g["tag"] for g in doc["groups"]] == ["alpha", "other"]
    assert [op["id"] for op in doc["groups"][0]["operations"]] == ["read_a", "make_a"]
    assert doc["description"] == [
        {"code": False, "text": "Use "},
        {"code": True, "text": "x"},
        {"code": False, "text": "."},
    ]
