"""A new patient in a real browser: the invitation link, a password, consent, eHEALS, the
baseline PHQ-9 and GAD-7, preferences, and Today with chapter 1; axe-core on every
getting-started page (with the patient-journey tests' axe helper)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from test_patient_journey import AXE, PHONE, STEP_TIMEOUT_MS, _serious_violations
from test_supporter_message_browser import enter_code, sign_in

from trellis.care.models import Enrollment, OnboardingStage, Preferences
from trellis.core.testing import current_totp
from trellis.demo import personas
from trellis.journey.tests.factories import publish_test_pack
from trellis.measures.models import QuestionnaireResponse
from trellis.onboarding.tests.onboarding_factories import NEW_EMAIL, NEW_PASSWORD, invite

pytestmark = pytest.mark.browser
DESK = {"width": 1280, "height": 900}


def _answer_all(page: Any, items: int, option_index: int) -> None:
    for number in range(1, items + 1):
        page.locator(f"#item-q{number}-{option_index}").check()
    page.get_by_role("button", name="Continue").click()


def walk_to_today(page: Any, check: Any) -> None:
    """From the invitation page: an account, consent, eHEALS, PHQ-9, GAD-7, preferences and
    Today, calling `check(page, name)` on each page."""
    page.get_by_label("Your full name").fill("Nina Novak")
    page.locator("input[name=new_password1]").fill(NEW_PASSWORD)
    page.locator("input[name=new_password2]").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()

    expect(page).to_have_url(re.compile(r"/welcome/consent/$"))
    expect(page.locator(".onboarding-progress")).to_contain_text("Step 1 of 5")
    check(page, "consent")
    for kind in ("treatment", "data_use", "automation"):
        page.locator(f"#id_{kind}_0").check()
    page.locator("#id_research_1").check()
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/welcome/health-information/$"))
    expect(page.locator(".onboarding-progress")).to_contain_text("Step 2 of 5")
    check(page, "eHEALS")
    _answer_all(page, 8, 3)  # "Agree" to each: a sufficient score

    expect(page).to_have_url(re.compile(r"/welcome/feelings/$"))
    expect(page.locator(".onboarding-progress")).to_contain_text("Step 3 of 5")
    expect(page.locator("h1")).to_contain_text("PHQ-9")
    check(page, "PHQ-9")
    _answer_all(page, 9, 0)  # "Not at all", item 9 included

    expect(page.locator(".onboarding-progress")).to_contain_text("Step 4 of 5")
    expect(page.locator("h1")).to_contain_text("GAD-7")
    expect(page.locator(".crisis")).to_have_count(0)
    check(page, "GAD-7")
    _answer_all(page, 7, 0)

    expect(page).to_have_url(re.compile(r"/welcome/preferences/$"))
    expect(page.locator(".onboarding-progress")).to_contain_text("Step 5 of 5")
    check(page, "preferences")
    page.get_by_label("Messages when I like").check()
    page.get_by_label("Email").check()
    page.get_by_label("Quiet from").fill("21:30")
    page.get_by_label("Quiet until").fill("07:30")
    page.get_by_role("button", name="Finish and go to Today").click()

    expect(page).to_have_url(re.compile(r"/today/$"))
    expect(page.locator(".next-card .story-place")).to_contain_text("Chapter 1 of")
    check(page, "Today")


def test_new_patient_goes_from_the_invitation_to_today(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    path = invite(cast)
    axe = AXE.read_text() if AXE.exists() else None
    # axe is injected as a script, which the page's own Content-Security-Policy would refuse.
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=axe is not None, viewport=PHONE
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    problems: dict[str, Any] = {}
    failed: list[str] = []

    def check(page: Any, name: str) -> None:
        if axe is not None and (found := _serious_violations(page, axe)):
            problems[name] = found
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, f"{name} scrolls sideways on a phone"

    try:
        page = context.new_page()
        page.on(
            "response",
            lambda r: (
                failed.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.goto(path)
        walk_to_today(page, check)
    finally:
        context.close()

    assert not problems, problems
    assert not failed, failed
    enrollment = Enrollment.objects.get(patient__email=NEW_EMAIL)
    assert enrollment.onboarding.stage == OnboardingStage.DONE
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 3
    prefs = Preferences.objects.get(user=enrollment.patient)
    assert prefs.contact_style == "messages"
    assert prefs.time_zone == cast.clinics["riverside"].time_zone


def test_a_therapist_invites_a_patient_who_follows_the_emailed_link_to_today(
    browser: Any, cast: personas.Cast, live_server: Any, smtp: Any
) -> None:
    """The invite form from the therapist's side, then the link from the real e-mail."""
    version = publish_test_pack()
    maria = cast["therapist_maria"]
    staff = browser.new_context(base_url=live_server.url, viewport=DESK)
    staff.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        page = staff.new_page()
        sign_in(page, maria.email)
        enter_code(page, current_totp(maria))
        page.goto(reverse("care:invite_patient"))
        page.get_by_label("Email address").fill(NEW_EMAIL)
        page.get_by_label("Full name").fill("Nina Novak")
        page.get_by_label("Program").select_option(version.program.slug)
        page.get_by_label("Coached").check()
        page.get_by_label("Team").select_option(label="Anxiety team")
        page.get_by_label(maria.full_name).check()
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator(".messages")).to_contain_text(
            f"An invitation is on its way to {NEW_EMAIL}"
        )
    finally:
        staff.close()

    mails = smtp.to(NEW_EMAIL)
    assert len(mails) == 1
    link = re.search(r"https?://\S+/invitations/\S+/", mails[0].body)
    assert link, mails[0].body
    patient = browser.new_context(base_url=live_server.url, viewport=PHONE)
    patient.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        page = patient.new_page()
        page.goto(urlsplit(link.group(0)).path)
        walk_to_today(page, lambda page, name: None)
    finally:
        patient.close()
    enrollment = Enrollment.objects.get(patient__email=NEW_EMAIL)
    assert enrollment.support_level == "coached"
    assert [member.supporter for member in enrollment.care_team.all()] == [maria]
