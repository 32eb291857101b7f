"""The story in a real browser at phone size (390 x 844): a chapter's introduction on Today,
a step, the chapter's closing on the done page, and the next chapter locked until its day;
the progress bar and the story page; axe-core on each page.

Set TRELLIS_STORY_SHOTS to a folder to keep a screenshot of each page (phone and desk).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_source, describe, serious_violations
from trellis.care.models import Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.services import complete_step, view_step
from trellis.journey.tests.factories import PACK
from trellis.onboarding.services import enroll_patient
from trellis.programs.models import Step
from trellis.programs.services import publish_pack

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
SHOTS = os.environ.get("TRELLIS_STORY_SHOTS", "")
DONE_EARLIER = {
    "slow-breathing": {"minutes": 2, "breaths": 12},
    "first-thoughts": {
        "situation": "A meeting at work",
        "automatic_thought": "They think I am useless",
        "emotion": "anxious",
        "intensity_before": 80,
        "balanced_thought": "They were busy",
        "intensity_after": 40,
    },
    "weekly-check": {},
}


def sign_in(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(personas.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def looked_at(page: Any, name: str) -> None:
    """The page fits the phone, axe finds nothing serious; a screenshot when asked for."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    if axe_source() is not None:
        found = serious_violations(page)
        assert not found, describe(found)
    if SHOTS:
        folder = Path(SHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page.screenshot(path=str(folder / f"{name}-{size['width']}.png"), full_page=True)
        if size["width"] == PHONE["width"]:
            page.set_viewport_size(DESK)
            page.screenshot(path=str(folder / f"{name}-{DESK['width']}.png"), full_page=True)
            page.set_viewport_size(PHONE)


@pytest.fixture
def paced_alex(cast: personas.Cast, tmp_path: Path) -> Enrollment:
    """patient_alex in the journey test program, its second chapter paced (`min_days: 5`)."""
    pack = tmp_path / "paced"
    shutil.copytree(PACK, pack)
    text = (pack / "pack.yaml").read_text()
    second = "  - key: coping\n    title: Building coping skills\n"
    (pack / "pack.yaml").write_text(text.replace(second, second + "    min_days: 5\n"))
    return enroll_patient(
        patient=cast["patient_alex"],
        program_version=publish_pack(pack, actor=None),
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=timeutil.now() - timedelta(days=4),
    )


def _done_days_ago(enrollment: Enrollment) -> None:
    """The middle of chapter 1, as if done on the day it opened, four days ago."""
    earlier = timeutil.now() - timedelta(days=4)
    steps = {s.key: s for s in Step.objects.filter(version_id=enrollment.program_version_id)}
    view_step(enrollment, steps["what-stress-does"], actor=enrollment.patient, now=earlier)
    for minutes, (key, response) in enumerate(DONE_EARLIER.items(), 1):
        complete_step(
            enrollment,
            steps[key],
            actor=enrollment.patient,
            client_id=uuid.uuid4(),
            response=response,
            duration_s=60,
            now=earlier + timedelta(minutes=minutes),
        )


def test_a_chapter_opens_with_its_story_closes_with_its_reflection_and_the_next_waits(
    page: Any, cast: personas.Cast, live_server: Any, paced_alex: Enrollment
) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, cast["patient_alex"].email)
    expect(page).to_have_url(f"{live_server.url}/today/")

    # The chapter opens with its introduction and skills, above its first step.
    main = page.locator("main")
    expect(main).to_contain_text("Chapter 1 of 2 begins")
    expect(main).to_contain_text("Stress often shows up in the body before we notice it")
    expect(page.locator("progress.story-bar").first).to_have_attribute("value", "0")
    expect(main).to_contain_text("0 of 2 chapters finished")
    looked_at(page, "today-intro")

    # A step: the lesson that opens the chapter, with the introduction folded above it.
    page.locator(".next-card a.button").click()
    expect(page).to_have_url(re.compile(r"/steps/what-stress-does/$"))
    expect(page.locator("details.chapter-intro summary")).to_contain_text(
        "Chapter 1 begins: read its introduction"
    )
    page.get_by_role("button", name="I have read this").click()
    expect(page).to_have_url(re.compile(r"/steps/what-stress-does/done/$"))
    expect(main).not_to_contain_text("End of chapter 1")
    page.goto("/today/")
    expect(main).not_to_contain_text("Chapter 1 of 2 begins")
    expect(main).to_contain_text("Chapter 1: 1 of 5 steps done")

    # The rest of the chapter was done days ago; its reflection has opened since.
    _done_days_ago(paced_alex)
    page.goto("/today/")
    expect(page.locator(".next-card h2")).to_have_text("Looking back on this week")
    page.locator(".next-card a.button").click()
    page.get_by_label("What did you notice about how stress shows up for you?").fill(
        "My shoulders tense before meetings."
    )
    page.get_by_role("button", name=re.compile("Finish|Save|Done")).first.click()
    expect(page).to_have_url(re.compile(r"/steps/looking-back/done/$"))

    # The closing of the chapter, and when the next one opens.
    closing = page.locator(".chapter-closing")
    expect(closing).to_contain_text("End of chapter 1")
    expect(closing).to_contain_text("You have started to notice how stress shows up for you")
    expect(closing).to_contain_text("Chapter 2 opens tomorrow")
    looked_at(page, "step-done-closing")

    # Today: the chapter finished, the next one locked until its day.
    page.goto("/today/")
    expect(main).to_contain_text("You finished chapter 1: Noticing stress")
    expect(main).to_contain_text("Chapter 2 opens tomorrow")
    expect(main).to_contain_text("1 of 2 chapters finished")
    expect(page.locator("progress.story-bar").first).to_have_attribute("value", "1")
    looked_at(page, "today-waiting")

    # The story says so too, and the locked chapter's step stays locked.
    page.goto("/story/")
    expect(main).to_contain_text("Chapter 2 opens tomorrow")
    expect(main).to_contain_text("Looking back")
    looked_at(page, "story")
    page.get_by_role("link", name=re.compile("Read this chapter again")).click()
    expect(page).to_have_url(re.compile(r"/story/chapters/noticing/$"))
    expect(main).to_contain_text("Stress often shows up in the body")
    expect(main).to_contain_text("You have started to notice how stress shows up for you")
    looked_at(page, "chapter")
    page.goto("/steps/grounding-senses/")
    expect(main).to_contain_text("This step is not open yet")
    expect(main).to_contain_text("Chapter 2 opens tomorrow")
    assert not page.problems, page.problems
