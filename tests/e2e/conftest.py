"""A real Chromium, driven through Playwright, for the journeys that cross apps.

The browser is the `chromium` on PATH (Debian's package); Playwright's own browser
downloads are never used. Without Chromium the browser tests skip on a laptop and fail
when TRELLIS_REQUIRE_SERVICES=1 (as in CI).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from trellis.core.testing import need_service

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for a loaded CI machine; a passing step takes well under a second.
STEP_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module."""
    executable = shutil.which("chromium")
    need_service(executable is not None, "Chromium (the `chromium` command on PATH)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop registered on this thread, which Django
    # would take for async code and refuse database access from the test itself.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class PageProblems:
    """What went wrong behind the page's back: failed requests and console errors
    (a Content-Security-Policy violation shows up here)."""

    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.failed_requests or self.console_errors)


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser tab (no cookies) pointed at a real Trellis server on the test database.

    `page.problems` collects failed requests and console errors for the test to check.
    """
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    tab = context.new_page()
    problems = PageProblems()

    def on_response(response: Any) -> None:
        # Browsers ask for /favicon.ico on their own; Trellis does not promise one.
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.failed_requests.append(f"{response.status} {response.url}")

    def on_console(message: Any) -> None:
        # A failed load is already recorded, with its address, by on_response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.console_errors.append(message.text)

    tab.on("response", on_response)
    tab.on("console", on_console)
    tab.problems = problems
    try:
        yield tab
    finally:
        # Let a request still in flight (a redirect after the last form, a service worker
        # fetch) finish before the test database is flushed: a live-server request holding
        # its locks while the flush truncates the tables deadlocks on PostgreSQL.
        with contextlib.suppress(Exception):
            tab.wait_for_load_state("networkidle", timeout=5_000)
        context.close()
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def _live_server_idle_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let the live server finish what the browser sent before the database is emptied.

    A page may still have a request in flight when a test closes its browser context (a
    player reporting progress, a service worker, a beacon on unload). On PostgreSQL the
    flush that ends a live-server test then waits for that request's locks while the
    request waits for the flush's: a deadlock. This waits, briefly, for the server's
    request threads to end first.
    """
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    server = request.getfixturevalue("live_server")
    yield
    httpd = getattr(server.thread, "httpd", None)
    if httpd is None:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        busy = [
            thread
            for thread in threading.enumerate()
            if getattr(getattr(thread, "_target", None), "__self__", None) is httpd
        ]
        if not busy:
            return
        for thread in busy:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
