"""Trellis's own 404, 500, 400 and 403 pages, with DEBUG on (the demo) and off.

Every page is calm, in the site's layout, with a way back that fits the person (Today,
the caseload, the start page, sign-in), and never lists the site's URLs or shows a stack
trace. Under /api/ errors stay the API's JSON body.

The views that crash or refuse exist only in this module's URLconf (`pytest.mark.urls`):
no production route raises on purpose.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from trellis import urls as trellis_urls
from trellis.core import timeutil
from trellis.core.testing import free_port
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex, publish_test_pack


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret-detail-from-the-stack")


def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such record: secret-detail-from-the-view")


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("secret-detail-from-the-check")


def refuse(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    *trellis_urls.urlpatterns,
    path("test-only/crash/", crash),
    path("test-only/missing/", missing),
    path("test-only/suspicious/", suspicious),
    path("test-only/refuse/", refuse),
    path("api/v1/test-only/crash/", crash),
]
handler400 = trellis_urls.handler400
handler403 = trellis_urls.handler403
handler404 = trellis_urls.handler404
handler500 = trellis_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

DEBUG_MODES = pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])
# What Django's technical pages show, and none of Trellis's pages may.
TECHNICAL = ("URLconf", "Traceback", "secret-detail", "Request Method", "settings.py")


def _assert_friendly(response: Any, status: int, title: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert title in body
    assert 'class="site-header"' in body, "the page is in the site's layout"
    for marker in TECHNICAL:
        assert marker not in body, f"the error page shows {marker!r}"
    return body


@DEBUG_MODES
def test_unknown_address_shows_the_friendly_404_with_sign_in_as_the_way_back(
    client: Client, settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    body = _assert_friendly(client.get("/no-such-page/"), 404, "We could not find that page")
    assert 'href="/accounts/login/"' in body
    assert "api/v1/" not in body


@DEBUG_MODES
def test_a_view_that_finds_nothing_shows_the_friendly_404(
    client: Client, settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    _assert_friendly(client.get("/test-only/missing/"), 404, "We could not find that page")


@DEBUG_MODES
def test_404_takes_a_patient_in_a_program_back_to_today(
    cast: personas.Cast, client_for: Any, settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    publish_test_pack()
    enroll_alex(cast, now=timeutil.now())
    response = client_for("patient_alex").get("/no-such-page/")
    body = _assert_friendly(response, 404, "We could not find that page")
    assert '<a class="button" href="/today/">Go to Today</a>' in body


def test_404_takes_a_patient_not_yet_in_a_program_to_the_start_page(client_for: Any) -> None:
    response = client_for("patient_alex").get("/no-such-page/")
    body = _assert_friendly(response, 404, "We could not find that page")
    assert '<a class="button" href="/">Go to the start page</a>' in body


@DEBUG_MODES
def test_404_takes_a_clinician_back_to_the_caseload(
    client_for: Any, settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    response = client_for("therapist_maria").get("/clinic/no-such-page/")
    body = _assert_friendly(response, 404, "We could not find that page")
    assert '<a class="button" href="/clinic/caseload/">Go to your caseload</a>' in body


def test_404_takes_an_administrator_to_the_start_page(client_for: Any) -> None:
    body = _assert_friendly(
        client_for("admin_avery").get("/no-such-page/"), 404, "We could not find that page"
    )
    assert "Go to the start page" in body


@DEBUG_MODES
def test_a_crash_shows_the_friendly_500_and_logs_the_stack(
    settings: Any, debug: bool, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/test-only/crash/")
    body = _assert_friendly(response, 500, "Something went wrong on our side")
    assert "It was not something you did" in body
    assert 'href="/accounts/login/"' in body
    logged = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert logged, "the stack trace goes to the log"
    assert "secret-detail-from-the-stack" in str(logged[0].exc_info[1])


@DEBUG_MODES
def test_a_crash_still_reaches_a_test_client_that_raises(settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    with pytest.raises(RuntimeError, match="secret-detail-from-the-stack"):
        Client().get("/test-only/crash/")


@DEBUG_MODES
def test_a_suspicious_request_shows_the_friendly_400(settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get("/test-only/suspicious/")
    _assert_friendly(response, 400, "That request could not be understood")


@DEBUG_MODES
def test_a_refusal_shows_the_friendly_403(client: Client, settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    _assert_friendly(client.get("/test-only/refuse/"), 403, "This page is not for you")


@DEBUG_MODES
def test_api_errors_stay_json(settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)
    missing_page = client.get("/api/v1/no-such-endpoint/")
    assert missing_page.status_code == 404
    assert missing_page.json() == {
        "detail": "This page does not exist, or you do not have access to it.",
        "errors": [],
    }
    crashed = client.get("/api/v1/test-only/crash/")
    assert crashed.status_code == 500
    assert set(crashed.json()) == {"detail", "errors"}
    assert "secret-detail" not in crashed.content.decode()


@DEBUG_MODES
def test_a_missing_trailing_slash_still_redirects(
    client: Client, settings: Any, debug: bool
) -> None:
    settings.DEBUG = debug
    response = client.get("/accounts/login")
    assert response.status_code == 301
    assert response["Location"] == "/accounts/login/"


@DEBUG_MODES
def test_a_form_without_its_csrf_token_shows_the_friendly_403(settings: Any, debug: bool) -> None:
    settings.DEBUG = debug
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "someone@example.org"})
    body = _assert_friendly(response, 403, "This form has expired")
    assert "Nothing was saved" in body
    assert "CSRF" not in body


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.slow
def test_the_demo_server_with_debug_on_answers_with_the_friendly_404(tmp_path: Path) -> None:
    """As `make demo` serves (TRELLIS_ENV=dev, DEBUG on, the production web server): a
    mistyped address gets Trellis's page, not Django's list of every URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "DATABASE_URL"))}
    env.update(
        TRELLIS_ENV="dev",
        TRELLIS_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        DJANGO_SETTINGS_MODULE="trellis.settings",
    )
    trellis = [sys.executable, "-m", "trellis"]
    subprocess.run([*trellis, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300)
    port = free_port()
    server = subprocess.Popen(
        [*trellis, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server stopped"
            try:
                status, body = _get(f"http://127.0.0.1:{port}/no-such-page/")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)
        assert status == 404
        assert "We could not find that page" in body
        assert "URLconf" not in body
        icon_status, _icon = _get(f"http://127.0.0.1:{port}/static/trellis/icons/favicon.svg")
        assert icon_status == 200
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
