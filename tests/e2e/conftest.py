"""A real Chromium, driven through Playwright, for the journeys that cross apps.

The browser is the `chromium` on PATH (Debian's package); Playwright's own browser
downloads are never used. Without Chromium the browser tests skip on a laptop and fail
when TRELLIS_REQUIRE_SERVICES=1 (as in CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
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


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser tab (no cookies) pointed at a real Trellis server on the test database."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
