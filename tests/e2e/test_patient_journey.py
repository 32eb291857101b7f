"""A patient's day in a real browser: Today, the breathing pacer, a thought record, ratings,
My story so far, a double-submitted form that counts once, the event log, keyboard-only use,
and axe-core on every patient page."""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from trellis.care.models import Enrollment
from trellis.core.testing import need_service
from trellis.demo import personas
from trellis.engagement.models import EngagementEvent
from trellis.journey.services import complete_step
from trellis.journey.tests.factories import enroll_alex
from trellis.programs.models import Step

pytestmark = pytest.mark.browser

STEP_TIMEOUT_MS = 15_000  # as in conftest.py: generous for a loaded CI machine

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
THOUGHT_RECORD = {
    "What happened?": "My friend did not answer my message",
    "What went through your mind?": "She is angry with me",
    "What did you feel?": "worried",
    "How strong was the feeling? (0 to 100)": "70",
    "What makes the thought seem true?": "She usually answers fast",
    "What does not fit the thought?": "She said she had a busy week",
    "A more balanced thought": "She is probably busy; I can ask later",
    "How strong is the feeling now? (0 to 100)": "30",
}


def sign_in(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(personas.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def start_next(page: Any, title: str) -> None:
    """On Today: the next step is `title`; open it."""
    expect(page.locator(".next-card h2")).to_have_text(title)
    page.locator(".next-card a.button").click()


def fits_the_phone(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def events_of(enrollment: Enrollment) -> Counter[tuple[str, str]]:
    rows = EngagementEvent.objects.filter(enrollment=enrollment).values_list("type", "step_key")
    return Counter(rows)


def test_patient_breathes_records_a_thought_rates_both_and_sees_them_in_the_story(
    page: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = enroll_alex(cast)
    alex = cast["patient_alex"]
    page.set_viewport_size(PHONE)
    sign_in(page, alex.email)
    expect(page).to_have_url(f"{live_server.url}/today/")
    expect(page.locator("main")).to_contain_text("Chapter 1 of 2: Noticing stress, 0 of 5 done")
    assert fits_the_phone(page)

    # The lesson that opens the story.
    start_next(page, "What stress does in your body")
    page.get_by_role("button", name="I have read this").click()
    expect(page).to_have_url(re.compile(r"/steps/what-stress-does/done/$"))
    page.get_by_label("5", exact=True).check()
    page.get_by_role("button", name="Save my rating").click()
    expect(page).to_have_url(f"{live_server.url}/today/")

    # Paced breathing, by keyboard alone: Start with Space, finish early with Enter.
    start_next(page, "Slow breathing")
    expect(page).to_have_url(re.compile(r"/steps/slow-breathing/$"))
    expect(page.locator("[data-pacer]")).to_be_visible()
    tab_to(page, "[data-start]")
    page.keyboard.press("Space")
    expect(page.locator("[data-phase]")).to_have_text("Breathe in")
    expect(page.locator("[data-live]").first).to_have_text("Breathe in")
    page.wait_for_timeout(1200)
    assert page.evaluate("document.activeElement.matches('[data-stop]')")
    page.keyboard.press("Enter")
    expect(page.locator("[data-phase]")).to_contain_text("Well done")
    assert page.evaluate("document.activeElement.matches('[type=submit]')")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/steps/slow-breathing/done/$"))
    tab_to(page, "input[name=rating]")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("document.querySelector('input[name=rating]:checked').value") == "4"
    tab_to(page, "form.rating-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/today/")

    # A thought record, then the same form sent a second time.
    start_next(page, "Catching a thought")
    for index, (label, value) in enumerate(THOUGHT_RECORD.items()):
        if index:  # one box per screen
            page.get_by_role("button", name="Next").click()
        page.get_by_label(label).fill(value)
    form = page.evaluate(
        "() => Object.fromEntries(new FormData(document.querySelector('form.player-form')))"
    )
    action = page.evaluate("document.querySelector('form.player-form').action")
    page.get_by_role("button", name="Finish").click()
    expect(page).to_have_url(re.compile(r"/steps/first-thoughts/done/$"))
    again = page.request.post(action, form=form, headers={"Referer": page.url})
    assert again.ok and again.url.endswith("/steps/first-thoughts/done/")
    page.get_by_label("3", exact=True).check()
    page.get_by_role("button", name="Save my rating").click()
    expect(page).to_have_url(f"{live_server.url}/today/")

    page.get_by_role("link", name="My story").click()
    story = page.locator("main")
    expect(story).to_contain_text("Slow breathing")
    expect(story).to_contain_text("Catching a thought")
    expect(story).to_contain_text("you rated it 4 out of 5")
    expect(page.locator(".story-stats")).to_contain_text("Exercises done2")
    assert fits_the_phone(page)

    # The event log: exactly one row per action in this visit.
    got = events_of(enrollment)
    logins = got.pop(("login", ""), 0)
    assert logins == 1, "signing in writes one login event"
    assert got == Counter(
        {
            ("step_viewed", "what-stress-does"): 1,
            ("step_completed", "what-stress-does"): 1,
            ("exercise_rated", "what-stress-does"): 1,
            ("step_viewed", "slow-breathing"): 1,
            ("step_started", "slow-breathing"): 1,
            ("step_completed", "slow-breathing"): 1,
            ("exercise_rated", "slow-breathing"): 1,
            ("step_viewed", "first-thoughts"): 1,
            ("step_started", "first-thoughts"): 1,
            ("step_completed", "first-thoughts"): 1,
            ("exercise_rated", "first-thoughts"): 1,
        }
    )
    assert not page.problems, page.problems


def test_breathing_pacer_stays_still_with_reduced_motion(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = enroll_alex(cast)
    lesson = Step.objects.get(version_id=enrollment.program_version_id, key="what-stress-does")
    complete_step(
        enrollment,
        lesson,
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        response={},
        duration_s=60,
        now=enrollment.started_at,
    )
    context = browser.new_context(base_url=live_server.url, reduced_motion="reduce")
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        page.goto("/steps/slow-breathing/")
        if page.locator("[data-pacer]").count() == 0:
            pytest.fail("the breathing step is not open for a new patient")
        page.get_by_role("button", name="Start").click()
        expect(page.locator("[data-phase]")).to_have_text("Breathe in")
        circle = page.locator(".pacer-circle")
        assert "inhale" not in (circle.get_attribute("class") or "")
        expect(page.locator("[data-count]")).not_to_have_text("")
    finally:
        context.close()


# Accessibility ------------------------------------------------------------------------------

PATIENT_PAGES = ["/today/", "/journal/", "/mood/", "/story/", "/settings/simple-mode/"]
EXERCISE_STEPS = [
    "slow-breathing",
    "first-thoughts",
    "grounding-senses",
    "quiet-mind",
    "planned-activity",
    "worry-later",
    "free-writing",
    "sleep-log",
]
VALID = {
    "paced_breathing": {"minutes": "2"},
    "thought_record": {
        "situation": "s",
        "automatic_thought": "a",
        "emotion": "e",
        "intensity_before": "60",
        "balanced_thought": "b",
        "intensity_after": "30",
    },
    "behavioural_activation": {
        "activity": "Walk",
        "planned_date": "2026-03-10",
        "planned_time": "10:00",
    },
    "worry_time": {"worries": "One", "worry_time": "17:00"},
    "journaling": {"text": "Words."},
    "sleep_diary": {"bed_time": "23:00", "rise_time": "07:00", "minutes_to_fall_asleep": "20"},
}


def _open_every_exercise(enrollment: Enrollment) -> None:
    """Finish the steps before the last exercise, one a day from the start, so all open."""
    steps = Step.objects.filter(version_id=enrollment.program_version_id).order_by("position")
    for day, step in enumerate(steps):
        if step.key == "sleep-log":
            return
        response = {"text": "A note."} if step.kind == "reflection" else VALID.get(step.exercise)
        complete_step(
            enrollment,
            step,
            actor=enrollment.patient,
            client_id=uuid.uuid4(),
            response=response or {},
            duration_s=60,
            now=enrollment.started_at + timedelta(days=day),
        )


def _serious_violations(page: Any, source: str) -> list[dict[str, Any]]:
    page.evaluate(source)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))
            }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation_on_any_patient_page(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    if not AXE.exists():
        need_service(False, "axe-core (run `npm ci` for node_modules/axe-core)")
    source = AXE.read_text()
    enrollment = enroll_alex(cast)
    _open_every_exercise(enrollment)
    # axe is injected as a script, which the page's own Content-Security-Policy would refuse.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, viewport=PHONE)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    problems: dict[str, list[dict[str, Any]]] = {}
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        pages = [*PATIENT_PAGES, *(f"/steps/{key}/" for key in EXERCISE_STEPS)]
        pages += ["/steps/slow-breathing/done/", "/steps/planned-activity/done/", "/offline/"]
        for url in pages:
            page.goto(url)
            if found := _serious_violations(page, source):
                problems[url] = found
        # The same pages again in simple mode.
        page.goto("/settings/simple-mode/")
        page.get_by_role("button", name="Turn simple mode on").click()
        expect(page.locator("body")).to_have_class(re.compile("simple-mode"))
        for url in [*PATIENT_PAGES, "/steps/sleep-log/"]:
            page.goto(url)
            if found := _serious_violations(page, source):
                problems[f"{url} (simple mode)"] = found
    finally:
        context.close()
    assert not problems, problems


def test_axe_is_required_in_ci() -> None:
    """Without node_modules the axe test skips on a laptop; CI must have it."""
    if os.environ.get("TRELLIS_REQUIRE_SERVICES", "") in {"1", "true", "yes"}:
        assert AXE.exists(), "node_modules/axe-core is missing: run `npm ci`"
