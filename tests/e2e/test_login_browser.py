"""A therapist signs in the way she would at the clinic: email, password, then her TOTP code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from trellis.core.testing import current_totp
from trellis.demo import personas

pytestmark = pytest.mark.browser


def sign_in_with_password(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(personas.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/mfa/verify/"))


def enter_code(page: Any, code: str) -> None:
    page.get_by_label(re.compile(r"^Code")).fill(code)
    page.get_by_role("button", name="Continue").click()


def test_therapist_signs_in_with_password_and_totp_and_sees_her_home_page(
    page: Any, cast: personas.Cast, live_server: Any
) -> None:
    maria = cast["therapist_maria"]
    sign_in_with_password(page, maria.email)
    enter_code(page, current_totp(maria))
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("body")).to_contain_text(maria.full_name)
    stylesheet = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert stylesheet and "Times" not in stylesheet, "trellis.css was not applied"
    assert not page.problems, page.problems


def test_wrong_totp_code_keeps_the_therapist_out_with_an_error(
    page: Any, cast: personas.Cast, live_server: Any
) -> None:
    maria = cast["therapist_maria"]
    sign_in_with_password(page, maria.email)
    wrong = f"{(int(current_totp(maria)) + 500_000) % 1_000_000:06d}"
    enter_code(page, wrong)
    expect(page).to_have_url(re.compile(r"/accounts/mfa/verify/"))
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Code"))).to_have_attribute("aria-invalid", "true")
    page.goto("/")
    expect(page).not_to_have_url(f"{live_server.url}/")
