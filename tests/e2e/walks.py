"""What the patient's-day and supporter's-day walks share: one browser context per language
and size, signing in, and the checks made on every page a walk visits.

On every page: axe-core in light and in dark mode finds no serious or critical violation;
no request failed and the console shows no error (a Content-Security-Policy violation is
one: the walks keep the page's real policy on); at phone width the page is not wider than
the screen; and the page says which language it is in (<html lang>). Problems are
collected page by page and reported together at the end, so one run lists them all.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe import describe, serious_violations
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from trellis.accounts.models import User
from trellis.accounts.services.language import set_language
from trellis.core.testing import current_totp
from trellis.demo import personas

# Generous for a loaded CI machine; a passing step takes well under a second.
STEP_TIMEOUT_MS = 15_000
SIZES = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 900}}
# The browser's language for each of the person's languages (Accept-Language follows it).
LOCALES = {"en": "en-US", "fi": "fi-FI"}
WALKS = [(language, size) for language in LOCALES for size in SIZES]
WALK_IDS = [f"{language}-{size}" for language, size in WALKS]
# Where a failed walk leaves a screenshot of the page it stopped on (git ignores it).
FAILURES = Path(__file__).resolve().parents[2] / "test-results"


def offered(language: str) -> bool:
    """Whether Trellis offers this language yet (settings.LANGUAGES)."""
    return any(code.split("-")[0] == language for code, _name in settings.LANGUAGES)


@dataclass
class Walk:
    """One signed-in tab at one size, in one language, and what went wrong on the way."""

    page: Any
    language: str
    size: str
    problems: dict[str, list[str]] = field(default_factory=dict)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)

    def t(self, text: str) -> str:
        """`text` as Trellis shows it in this walk's language (its own translation catalog:
        the English text itself until a translation exists)."""
        with translation.override(self.language):
            return translation.gettext(text)

    def check(self, name: str) -> None:
        """Every check of the page now on screen, in light and in dark mode."""
        page = self.page
        page.wait_for_load_state("load")
        self.visited.append(name)
        found: list[str] = []
        if self.failed_requests or self.console_errors:
            found += [f"failed request: {r}" for r in self.failed_requests]
            found += [f"console error: {e}" for e in self.console_errors]
            self.failed_requests.clear()
            self.console_errors.clear()
        lang = page.evaluate("document.documentElement.lang")
        if offered(self.language) and not (lang or "").startswith(self.language):
            found.append(f'<html lang="{lang}">, expected {self.language}')
        if self.size == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > SIZES["phone"]["width"]:
                found.append(f"{width} px wide at {SIZES['phone']['width']} px")
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            if violations := serious_violations(page):
                found.append(f"axe ({scheme} mode):\n{describe(violations)}")
        page.emulate_media(color_scheme="light")
        if found:
            self.problems[f"{name} ({page.url})"] = found

    def go(self, href: str) -> None:
        """Follow the visible link to `href` on this page (the way a person would), opening
        the menu that holds it first if it is folded away (a "More" disclosure)."""
        page = self.page
        link = page.locator(f'a[href="{href}"]:visible')
        if not link.count():
            folded = page.locator(f'details:has(a[href="{href}"]) > summary:visible').first
            if folded.count():
                folded.click()
            else:
                page.locator(
                    f'[aria-expanded="false"]:visible:has-text("{self.t("More")}")'
                ).first.click()
        link.first.click()
        expect(self.page).to_have_url(re.compile(re.escape(href) + r"(\?.*)?$"))

    def report(self) -> str:
        lines = [f"{self.language} at {self.size} size: problems on {len(self.problems)} page(s)"]
        for page_name, found in self.problems.items():
            lines.append(f"- {page_name}")
            lines += [f"    {line}" for item in found for line in item.splitlines()]
        return "\n".join(lines)

    def assert_clean(self) -> None:
        if self.failed_requests or self.console_errors:
            self.check("after the last step")
        assert not self.problems, self.report()


@contextlib.contextmanager
def walk(browser: Any, live_server: Any, language: str, size: str) -> Iterator[Walk]:
    """A fresh context (no cookies) in `language` at `size`, with its problems recorded."""
    context = browser.new_context(
        base_url=live_server.url, viewport=SIZES[size], locale=LOCALES[language]
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    tab = Walk(page=page, language=language, size=size)

    def on_response(response: Any) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            tab.failed_requests.append(f"{response.status} {response.url}")

    def on_console(message: Any) -> None:
        # A failed load is already recorded, with its address, by on_response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            tab.console_errors.append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    try:
        yield tab
    except BaseException:
        # A step that could not be taken: keep what the walk saw up to there, and the page.
        if tab.problems:
            print(tab.report())
        with contextlib.suppress(Exception):
            FAILURES.mkdir(exist_ok=True)
            page.screenshot(path=FAILURES / f"walk-{language}-{size}.png", full_page=True)
            print(f"The page at the failed step: {FAILURES / f'walk-{language}-{size}.png'}")
        raise
    finally:
        # Let a request still in flight finish before the test database is flushed.
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=5_000)
        context.close()


def speaks(person: User, language: str) -> None:
    """The person's own choice of language, as their account page stores it."""
    set_language(user=person, language=language)


def sign_in(tab: Walk, person: User) -> None:
    """Email and password on the sign-in page; staff then type their current TOTP code."""
    page = tab.page
    page.goto("/accounts/login/")
    tab.check("sign-in")
    form = page.locator("main form").filter(has=page.locator("input[name=password]"))
    form.locator("input[name=email]").fill(person.email)
    form.locator("input[name=password]").fill(personas.DEMO_PASSWORD)
    form.locator("button[type=submit]").click()
    if person.memberships.exclude(role="patient").exists():
        expect(page).to_have_url(re.compile(r"/accounts/mfa/verify/"))
        tab.check("sign-in code")
        form = page.locator("main form").filter(has=page.locator("input[name=code]"))
        form.locator("input[name=code]").fill(current_totp(person))
        form.locator("button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
