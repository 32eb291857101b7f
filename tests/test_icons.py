"""Every icon the web app manifest and the pages name exists, at the size it claims.

The PNG icons are drawn by scripts/make_icons.py into trellis/static/trellis/icons/.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex, publish_test_pack

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def static_file(url: str) -> Path:
    assert url.startswith(settings.STATIC_URL), f"{url} is not a static file"
    found = finders.find(url.removeprefix(settings.STATIC_URL))
    assert found, f"{url} names no file"
    return Path(str(found))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_icon(url: str, sizes: str | None, kind: str | None) -> None:
    path = static_file(url)
    if path.suffix == ".svg":
        assert kind in (None, "image/svg+xml")
        assert sizes in (None, "any")
        assert path.read_text().lstrip().startswith("<svg")
        return
    assert kind in (None, "image/png")
    width, height = png_size(path)
    if sizes is not None:
        assert sizes == f"{width}x{height}", f"{url} claims {sizes}, is {width}x{height}"


def test_manifest_icons_exist_at_their_sizes_with_any_and_maskable(client: Client) -> None:
    manifest = json.loads(client.get("/manifest.webmanifest").content)
    purposes: dict[str, set[str]] = {}
    for icon in manifest["icons"]:
        assert_icon(icon["src"], icon["sizes"], icon["type"])
        for purpose in icon.get("purpose", "any").split():
            purposes.setdefault(purpose, set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= purposes["any"]
    assert "512x512" in purposes["maskable"]


class _IconLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and re.search(r"\bicon\b", values.get("rel") or ""):
            self.links.append(values)


def _icon_links(html: str) -> list[dict[str, Any]]:
    parser = _IconLinks()
    parser.feed(html)
    return parser.links


def test_every_page_names_a_favicon_and_an_apple_touch_icon_that_exist(client: Client) -> None:
    links = _icon_links(client.get("/accounts/login/").content.decode())
    rels = {link["rel"] for link in links}
    assert {"icon", "apple-touch-icon"} <= rels
    for link in links:
        assert_icon(link["href"], link.get("sizes"), link.get("type"))
    apple = next(link for link in links if link["rel"] == "apple-touch-icon")
    assert png_size(static_file(apple["href"])) == (180, 180)


def test_patient_pages_link_the_manifest_and_only_icons_that_exist(
    cast: Any, client_for: Any
) -> None:
    publish_test_pack()
    enroll_alex(cast, now=timeutil.now())
    html = client_for("patient_alex").get("/today/").content.decode()
    assert 'rel="manifest"' in html
    links = _icon_links(html)
    assert links
    for link in links:
        assert_icon(link["href"], link.get("sizes"), link.get("type"))


def test_apple_touch_icon_has_no_transparent_corner() -> None:
    """iOS shows a transparent corner as black: the touch icon fills its square."""
    data = static_file("/static/trellis/icons/apple-touch-icon.png").read_bytes()
    assert data[25] == 6  # colour type RGBA: check the alpha of the first pixel
    idat = b""
    position = 8
    while position < len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            idat += data[position + 8 : position + 8 + length]
        position += 12 + length
    first_row = zlib.decompress(idat)[: 1 + 4 * 180]
    assert first_row[0] == 0, "rows are written unfiltered"
    assert first_row[4] == 255, "the top-left pixel is opaque"
