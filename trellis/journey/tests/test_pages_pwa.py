"""The installable app: manifest, service worker and offline page hold no patient data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.journey import views

STATIC = Path(views.__file__).resolve().parents[1] / "static"

pytestmark = pytest.mark.django_db


def test_manifest_names_the_app_starts_at_today_and_has_png_icons(client: Client) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/today/"
    assert manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"]
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes


# That each icon the manifest names exists at its size: tests/test_icons.py.


def test_service_worker_is_served_from_the_root_for_the_whole_site(client: Client) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.headers["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert "/static/journey/journey.css" in body
    assert reverse("journey:offline") in body


def test_service_worker_caches_only_the_app_shell(client: Client) -> None:
    body = client.get("/sw.js").content.decode()
    shell_line = next(line for line in body.splitlines() if line.startswith("var SHELL"))
    shell = json.loads(shell_line.split("=", 1)[1].strip().rstrip(";"))
    for entry in shell:
        assert entry.startswith("/static/") or entry == reverse("journey:offline"), entry
    for page in ("journey:today", "journey:journal", "journey:mood", "journey:story"):
        assert reverse(page) not in shell
    # Only cache.addAll(SHELL) writes to the cache: nothing fetched later is stored.
    assert body.count("cache.put") == 0
    assert body.count("addAll") == 1


def test_every_shell_file_exists(client: Client) -> None:
    for path in views.SHELL_FILES:
        assert client.get(f"/static/{path}").status_code == 200, path


def test_offline_page_is_public_and_has_no_personal_data(client_for: Any) -> None:
    response = client_for("patient_alex").get(reverse("journey:offline"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "You are offline" in html
    assert "csrfmiddlewaretoken" not in html
    assert "Sign out" not in html


def test_patient_pages_are_never_stored_by_caches(client_for: Any) -> None:
    response = client_for("patient_alex").get(reverse("journey:today"))
    assert (
        "no-store" in response.headers["Cache-Control"]
        or "no-cache" in response.headers["Cache-Control"]
    )
