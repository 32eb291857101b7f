"""The program as a story: chapter introductions and closings, chapters paced by the pack,
the story's progress bar, and a patient with several programs choosing among them."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.care.models import Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey import queries
from trellis.journey.models import StepProgress
from trellis.journey.services import complete_step, view_step
from trellis.journey.tests.factories import PACK
from trellis.onboarding.services import enroll_patient
from trellis.programs.models import ProgramVersion, Step
from trellis.programs.services import publish_pack

pytestmark = pytest.mark.django_db

CONTENT = Path(__file__).resolve().parents[3] / "content"
CHAPTER_ONE = [
    "what-stress-does",
    "slow-breathing",
    "first-thoughts",
    "weekly-check",
    "looking-back",
]
ANSWERS: dict[str, dict[str, Any]] = {
    "slow-breathing": {"minutes": 2, "breaths": 12},
    "first-thoughts": {
        "situation": "A meeting at work",
        "automatic_thought": "They think I am useless",
        "emotion": "anxious",
        "intensity_before": 80,
        "balanced_thought": "They were busy",
        "intensity_after": 40,
    },
    "looking-back": {"text": "I notice my shoulders tense."},
}


@pytest.fixture
def paced_version(tmp_path: Path, db: Any) -> ProgramVersion:
    """The journey test program with its second chapter paced: `min_days: 5`."""
    pack = tmp_path / "paced"
    shutil.copytree(PACK, pack)
    text = (pack / "pack.yaml").read_text()
    second = "  - key: coping\n    title: Building coping skills\n"
    assert second in text
    (pack / "pack.yaml").write_text(text.replace(second, second + "    min_days: 5\n"))
    return publish_pack(pack, actor=None)


def _enroll(cast: personas.Cast, version: ProgramVersion, started: datetime) -> Enrollment:
    return enroll_patient(
        patient=cast["patient_alex"],
        program_version=version,
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=started,
    )


def _finish_chapter_one(enrollment: Enrollment, started: datetime) -> datetime:
    """Every step of chapter 1, the first viewed at `started`, the last 3 days later."""
    patient = enrollment.patient
    steps = {s.key: s for s in Step.objects.filter(version_id=enrollment.program_version_id)}
    view_step(enrollment, steps["what-stress-does"], actor=patient, now=started)
    moment = started
    for index, key in enumerate(CHAPTER_ONE):
        moment = started + timedelta(days=3, hours=1) if key == "looking-back" else moment
        complete_step(
            enrollment,
            steps[key],
            actor=patient,
            client_id=uuid.uuid4(),
            response=ANSWERS.get(key, {}),
            duration_s=60,
            now=moment + timedelta(minutes=index),
        )
    return moment


@pytest.fixture
def paced_alex(
    cast: personas.Cast, paced_version: ProgramVersion, client_for: Any
) -> tuple[Enrollment, Client]:
    """Alex finished chapter 1 of the paced program: it opened 4 days ago (chapter 2 waits
    for day 5) and its last step was done the day before today."""
    started = timeutil.now() - timedelta(days=4)  # so day 5 is tomorrow in any zone
    enrollment = _enroll(cast, paced_version, started)
    _finish_chapter_one(enrollment, started)
    return enrollment, client_for("patient_alex")


# Introductions -------------------------------------------------------------------------


def test_today_opens_the_first_chapter_with_its_introduction_and_skills(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    html = client_for("patient_alex").get(reverse("journey:today")).content.decode()
    assert "Chapter 1 of 2 begins" in html
    assert "Stress often shows up in the body before we notice it" in html
    assert "Spot the early signs of stress in your body" in html


def test_the_introduction_gives_way_to_a_link_once_the_chapter_is_begun(
    client_for: Any, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    complete_step(
        alex_enrollment,
        steps["what-stress-does"],
        actor=alex_enrollment.patient,
        client_id=uuid.uuid4(),
        response={},
        duration_s=60,
        now=timeutil.now(),
    )
    html = client_for("patient_alex").get(reverse("journey:today")).content.decode()
    assert "Stress often shows up in the body" not in html
    assert reverse("journey:chapter", kwargs={"chapter_key": "noticing"}) in html


def test_the_first_step_of_a_chapter_offers_its_introduction(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    page = client_for("patient_alex").get(
        reverse("journey:step", kwargs={"step_key": "what-stress-does"})
    )
    html = page.content.decode()
    assert "Chapter 1 begins: read its introduction" in html
    assert "Stress often shows up in the body" in html
    later = client_for("patient_alex").get(
        reverse("journey:step", kwargs={"step_key": "slow-breathing"})
    )
    assert "read its introduction" not in later.content.decode()


def test_the_chapter_page_shows_the_introduction_and_keeps_a_closed_chapter_closed(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    alex = client_for("patient_alex")
    page = alex.get(reverse("journey:chapter", kwargs={"chapter_key": "noticing"}))
    assert page.status_code == 200
    assert "Stress often shows up in the body" in page.content.decode()
    closed = alex.get(reverse("journey:chapter", kwargs={"chapter_key": "coping"}))
    html = closed.content.decode()
    assert closed.status_code == 200
    assert "This chapter is not open yet" in html
    assert "Now that you notice stress early" not in html  # its introduction waits
    assert "Chapter 2 opens when you finish &#x27;Noticing stress&#x27;" in html
    missing = alex.get(reverse("journey:chapter", kwargs={"chapter_key": "no-such-chapter"}))
    assert missing.status_code == 404


# Closings and pacing -------------------------------------------------------------------


def test_the_last_step_of_a_chapter_closes_it_and_says_when_the_next_opens(
    paced_alex: tuple[Enrollment, Client],
) -> None:
    _enrollment, alex = paced_alex
    page = alex.get(reverse("journey:step_done", kwargs={"step_key": "looking-back"}))
    html = page.content.decode()
    assert "End of chapter 1" in html
    assert "You have started to notice how stress shows up for you" in html
    assert "Chapter 2 opens tomorrow" in html
    earlier = alex.get(reverse("journey:step_done", kwargs={"step_key": "slow-breathing"}))
    assert "End of chapter 1" not in earlier.content.decode()


def test_today_and_the_story_say_plainly_when_the_paced_chapter_opens(
    paced_alex: tuple[Enrollment, Client],
) -> None:
    _enrollment, alex = paced_alex
    today = alex.get(reverse("journey:today")).content.decode()
    assert "You finished chapter 1: Noticing stress" in today
    assert "You have started to notice how stress shows up for you" in today
    assert "Chapter 2 opens tomorrow" in today
    story = alex.get(reverse("journey:story")).content.decode()
    assert "Chapter 2 opens tomorrow" in story
    assert "Looking back" in story and "You have started to notice" in story


def test_a_step_of_a_chapter_not_open_yet_is_refused_by_the_page_and_the_api(
    paced_alex: tuple[Enrollment, Client],
) -> None:
    enrollment, alex = paced_alex
    page = alex.get(reverse("journey:step", kwargs={"step_key": "grounding-senses"}))
    assert "This step is not open yet" in page.content.decode()
    refused = alex.post(
        reverse("journey:complete", kwargs={"step_key": "grounding-senses"}),
        {"client_id": str(uuid.uuid4())},
    )
    assert refused.status_code == 409
    assert "Chapter 2 opens tomorrow" in refused.content.decode()
    api = alex.post(
        f"/api/v1/journey/enrollments/{enrollment.pk}/steps/grounding-senses/complete",
        json.dumps({"client_id": str(uuid.uuid4()), "response": {}}),
        content_type="application/json",
    )
    assert api.status_code == 409
    assert api.json()["detail"] == "Chapter 2 opens tomorrow"
    assert not StepProgress.objects.filter(enrollment=enrollment, step__key="grounding-senses")


def test_a_paced_chapter_opens_on_its_day(
    cast: personas.Cast, paced_version: ProgramVersion
) -> None:
    started = datetime(2026, 3, 2, 9, 0, tzinfo=timeutil.UTC)  # a Monday
    enrollment = _enroll(cast, paced_version, started)
    _finish_chapter_one(enrollment, started)
    thursday = queries.today(enrollment, started + timedelta(days=3, hours=2))
    assert thursday.next_chapter_opens == "Chapter 2 opens on Saturday"
    assert thursday.just_finished is not None and thursday.just_finished.key == "noticing"
    assert thursday.chapters_finished == 1
    saturday = queries.today(enrollment, started + timedelta(days=5))
    assert saturday.next_step is not None
    assert saturday.next_step.step.key == "grounding-senses"
    assert saturday.intro_due and saturday.just_finished is None


# The progress bar ------------------------------------------------------------------------


def test_today_and_the_story_show_an_accessible_progress_bar(
    paced_alex: tuple[Enrollment, Client],
) -> None:
    _enrollment, alex = paced_alex
    for name in ("journey:today", "journey:story"):
        html = alex.get(reverse(name)).content.decode()
        assert "1 of 2 chapters finished" in html
        assert '<progress class="story-bar" max="2" value="1"' in html
        assert "aria-labelledby=" in html
        assert "Chapter 2: 0 of 7 steps done" in html


# Several programs ------------------------------------------------------------------------


@pytest.fixture
def two_programs(cast: personas.Cast, alex_enrollment: Enrollment) -> tuple[Enrollment, Enrollment]:
    """Alex in the test program and, started a day later, in Better sleep."""
    sleep = publish_pack(CONTENT / "better-sleep", actor=None)
    later = _enroll(cast, sleep, alex_enrollment.started_at + timedelta(days=1))
    return alex_enrollment, later


def test_today_lists_each_program_and_a_patient_switches_between_them(
    client_for: Any, two_programs: tuple[Enrollment, Enrollment]
) -> None:
    steady, sleep = two_programs
    alex = client_for("patient_alex")
    today = alex.get(reverse("journey:today")).content.decode()
    assert "Your programs" in today
    assert "Better sleep" in today and steady.program_version.title in today
    switch = reverse("journey:choose_program", kwargs={"enrollment_id": steady.pk})
    assert switch in today
    chosen = alex.post(switch, {"then": "story"})
    assert chosen.status_code == 302 and chosen["Location"] == reverse("journey:story")
    story = alex.get(reverse("journey:story")).content.decode()
    assert f"Your path through {steady.program_version.title}" in story
    back = reverse("journey:choose_program", kwargs={"enrollment_id": sleep.pk})
    alex.post(back)
    assert "Your path through Better sleep" in alex.get(reverse("journey:story")).content.decode()


def test_steps_of_every_running_program_are_reachable(
    client_for: Any, two_programs: tuple[Enrollment, Enrollment]
) -> None:
    _steady, sleep = two_programs
    alex = client_for("patient_alex")
    first_sleep_step = Step.objects.filter(version_id=sleep.program_version_id).order_by(
        "position"
    )[0]
    assert (
        alex.get(reverse("journey:step", kwargs={"step_key": first_sleep_step.key})).status_code
        == 200
    )
    # The test program's steps too, though Better sleep (started last) is shown first.
    assert (
        alex.get(reverse("journey:step", kwargs={"step_key": "what-stress-does"})).status_code
        == 200
    )
    done = alex.post(
        reverse("journey:complete", kwargs={"step_key": "what-stress-does"}),
        {"client_id": str(uuid.uuid4())},
    )
    assert done.status_code == 302
    assert StepProgress.objects.filter(enrollment=_steady, step__key="what-stress-does").exists()


def test_the_sleep_diary_of_a_second_program_is_reachable(
    client_for: Any, two_programs: tuple[Enrollment, Enrollment]
) -> None:
    _steady, sleep = two_programs
    diary = Step.objects.filter(version_id=sleep.program_version_id, exercise="sleep_diary")[0]
    page = client_for("patient_alex").get(reverse("journey:step", kwargs={"step_key": diary.key}))
    assert page.status_code == 200
    assert diary.title in page.content.decode()


def test_choosing_someone_elses_program_is_404(
    cast: personas.Cast, client_for: Any, two_programs: tuple[Enrollment, Enrollment]
) -> None:
    steady, _sleep = two_programs
    blair = client_for("patient_blair")
    answer = blair.post(reverse("journey:choose_program", kwargs={"enrollment_id": steady.pk}))
    assert answer.status_code == 404
    unknown = client_for("patient_alex").post(
        reverse("journey:choose_program", kwargs={"enrollment_id": uuid.uuid4()})
    )
    assert unknown.status_code == 404


def test_one_program_shows_no_switcher(client_for: Any, alex_enrollment: Enrollment) -> None:
    assert (
        "Your programs"
        not in client_for("patient_alex").get(reverse("journey:today")).content.decode()
    )


def test_the_api_tells_the_story_too(paced_alex: tuple[Enrollment, Client]) -> None:
    enrollment, alex = paced_alex
    today = alex.get(f"/api/v1/journey/enrollments/{enrollment.pk}/today").json()
    assert today["chapters_finished"] == 1
    assert today["finished_chapter_key"] == "noticing"
    assert "You have started to notice" in today["finished_chapter_closing_html"]
    assert today["next_chapter_opens"] == "Chapter 2 opens tomorrow"
    assert today["chapter_intro_html"] is None
    story = alex.get(f"/api/v1/journey/enrollments/{enrollment.pk}/story").json()
    assert [(c["key"], c["status"], c["min_days"]) for c in story["chapters"]] == [
        ("noticing", "finished", 0),
        ("coping", "locked", 5),
    ]
    assert story["chapters"][1]["opens"] == "Chapter 2 opens tomorrow"
