"""Today and the story so far, as a patient moves through the test program."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from trellis.care.models import Enrollment
from trellis.journey import queries, services
from trellis.programs.models import Step

ANSWERS: dict[str, dict[str, Any]] = {
    "slow-breathing": {"minutes": 5, "breaths": 30},
    "first-thoughts": {
        "situation": "A meeting",
        "automatic_thought": "I'll say something silly",
        "emotion": "nervous",
        "intensity_before": 60,
        "balanced_thought": "I have prepared",
        "intensity_after": 30,
    },
    "looking-back": {"text": "My shoulders tense up first."},
}


def finish(enrollment: Enrollment, step: Step, at: datetime) -> None:
    services.complete_step(
        enrollment,
        step,
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        response=ANSWERS.get(step.key, {}),
        duration_s=60,
        now=at,
    )


def test_today_starts_the_story_and_then_recaps_it(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    first = queries.today(alex_enrollment, journey_start)
    assert (first.chapter_number, first.chapter_count) == (1, 2)
    assert (first.done_in_chapter, first.steps_in_chapter) == (0, 5)
    assert first.next_step is not None and first.next_step.step.key == "what-stress-does"
    assert first.recap == "This is where your story begins."
    finish(alex_enrollment, steps["what-stress-does"], journey_start)
    later = queries.today(alex_enrollment, journey_start + timedelta(hours=1))
    assert later.next_step is not None and later.next_step.step.key == "slow-breathing"
    assert later.recap == "Last time you did 'What stress does in your body'."
    assert later.done_in_chapter == 1


def test_a_days_rule_makes_today_wait_and_say_when(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    alex = alex_enrollment.patient
    services.view_step(alex_enrollment, steps["what-stress-does"], actor=alex, now=journey_start)
    for key in ("what-stress-does", "slow-breathing", "first-thoughts", "weekly-check"):
        finish(alex_enrollment, steps[key], journey_start + timedelta(minutes=10))
    waiting = queries.today(alex_enrollment, journey_start + timedelta(hours=2))
    assert waiting.next_step is None
    assert waiting.waiting_for is not None
    assert waiting.waiting_for.step.key == "looking-back"
    assert waiting.waiting_for.locked_reason == "Opens on Thursday"  # started Monday, 3 days
    thursday = journey_start + timedelta(days=3)
    finish(alex_enrollment, steps["looking-back"], thursday)
    next_chapter = queries.today(alex_enrollment, thursday)
    assert next_chapter.chapter_number == 2
    assert next_chapter.recap == "You finished 'Noticing stress'. Now a new chapter begins."
    # A shorter option for a busy day: a 5-minute exercise is not shorter than 5 minutes.
    assert next_chapter.short_alternative is None


def test_the_short_version_is_offered_for_a_longer_step(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    order = ["what-stress-does", "slow-breathing", "first-thoughts", "weekly-check"]
    for key in order:
        finish(alex_enrollment, steps[key], journey_start)
    thursday = journey_start + timedelta(days=3)
    finish(alex_enrollment, steps["looking-back"], thursday)
    finish(alex_enrollment, steps["grounding-senses"], thursday)
    today = queries.today(alex_enrollment, thursday)
    assert today.next_step is not None and today.next_step.step.key == "quiet-mind"
    assert today.short_alternative is not None
    assert today.short_alternative.key == "slow-breathing"


def test_the_story_counts_what_was_done_never_what_was_missed(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    for key in ("what-stress-does", "slow-breathing", "first-thoughts", "weekly-check"):
        finish(alex_enrollment, steps[key], journey_start)
    services.rate_step(
        alex_enrollment,
        steps["slow-breathing"],
        actor=alex_enrollment.patient,
        rating=5,
        client_id=uuid.uuid4(),
        now=journey_start,
    )
    # A ten-day break, then the reflection that closes chapter one.
    finish(alex_enrollment, steps["looking-back"], journey_start + timedelta(days=10))
    story = queries.story(alex_enrollment, journey_start + timedelta(days=10))
    assert (story.chapters_finished, story.chapter_count) == (1, 2)
    assert story.exercises_done == 2
    assert story.steps_done == 5
    assert story.active_days == 2
    assert story.skills_learned == [
        "Spot the early signs of stress in your body",
        "Slow your breathing down",
    ]
    first = story.chapters[0]
    assert first.finished
    assert [(s.step.key, s.rating) for s in first.steps][:2] == [
        ("what-stress-does", None),
        ("slow-breathing", 5),
    ]
