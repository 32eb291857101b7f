"""The patient pages, driven through the test client as patient_alex (the journey test program)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.care.models import Enrollment, Preferences
from trellis.demo import personas
from trellis.engagement.models import EngagementEvent, EventType
from trellis.journey.models import JournalEntry, MoodCheckIn, ProgressStatus, StepProgress
from trellis.journey.services import complete_step
from trellis.journey.tests.conftest import JOURNEY_START
from trellis.programs.models import Step

pytestmark = pytest.mark.django_db


@pytest.fixture
def alex(client_for: Any, alex_enrollment: Enrollment) -> Client:
    client: Client = client_for("patient_alex")
    return client


def _client_id(html: str) -> str:
    match = re.search(r'name="client_id" value="([0-9a-f-]{36})"', html)
    assert match, "the form carries no client id"
    return match.group(1)


def _complete(enrollment: Enrollment, step: Step, response: dict[str, Any] | None = None) -> None:
    from trellis.core import timeutil

    complete_step(
        enrollment,
        step,
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        response=response or {},
        duration_s=60,
        now=timeutil.now(),
    )


VALID_ANSWERS: dict[str, dict[str, Any]] = {
    "paced_breathing": {"minutes": "2", "breaths": "12"},
    "thought_record": {
        "situation": "A meeting at work",
        "automatic_thought": "They think I am useless",
        "emotion": "anxious",
        "intensity_before": "80",
        "evidence_for": "Nobody replied",
        "evidence_against": "My manager thanked me",
        "balanced_thought": "They were busy",
        "intensity_after": "40",
    },
    "behavioural_activation": {
        "activity": "Walk round the block",
        "planned_date": "2026-03-10",
        "planned_time": "10:30",
    },
    "worry_time": {"worries": "Money\nThe exam", "worry_time": "17:30"},
    "journaling": {"text": "Walking helped."},
    "sleep_diary": {
        "bed_time": "23:00",
        "rise_time": "07:00",
        "minutes_to_fall_asleep": "30",
        "wakings": "1",
        "minutes_awake": "18",
    },
}


def _answer(step: Step) -> dict[str, Any]:
    if step.kind == "reflection":
        return {"text": "I notice my shoulders."}
    return dict(VALID_ANSWERS.get(step.exercise, {}))


def _open_up_to(enrollment: Enrollment, steps: dict[str, Step], key: str) -> None:
    """Complete every step before `key`, one a day from the start (so timed rules open)."""
    for day, step in enumerate(sorted(steps.values(), key=lambda s: s.position)):
        if step.key == key:
            return
        complete_step(
            enrollment,
            step,
            actor=enrollment.patient,
            client_id=uuid.uuid4(),
            response=_answer(step),
            duration_s=60,
            now=JOURNEY_START + timedelta(days=day),
        )


def _events(enrollment: Enrollment, type: str) -> int:
    return EngagementEvent.objects.filter(enrollment=enrollment, type=type).count()


# Today ----------------------------------------------------------------------------------


def test_today_shows_the_next_step_and_its_place_in_the_story(alex: Client) -> None:
    response = alex.get(reverse("journey:today"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chapter 1 of 2: Noticing stress, 0 of 5 done" in html
    assert "What stress does in your body" in html
    assert reverse("journey:step", kwargs={"step_key": "what-stress-does"}) in html
    assert reverse("journey:mood") in html
    assert "This is where your story begins." in html


def test_today_lists_locked_steps_with_their_reason(alex: Client) -> None:
    html = alex.get(reverse("journey:today")).content.decode()
    assert "Not open yet" in html
    assert "Opens after you finish" in html


def test_today_offers_a_shorter_step_once_one_is_done(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    for key in ("what-stress-does", "slow-breathing"):
        _complete(alex_enrollment, steps[key], {"minutes": "1"} if key == "slow-breathing" else {})
    html = alex.get(reverse("journey:today")).content.decode()
    assert "Catching a thought" in html
    assert "Short on time?" in html
    assert "Slow breathing" in html
    assert "Last time you did" in html


def test_patient_without_a_program_gets_a_kind_message(client_for: Any, cast: Any) -> None:
    farah = client_for("patient_farah")
    for name in ("journey:today", "journey:journal", "journey:mood", "journey:story"):
        response = farah.get(reverse(name))
        assert response.status_code == 200
        assert "You are not in a program yet." in response.content.decode()


def test_home_page_sends_an_enrolled_patient_to_today(alex: Client) -> None:
    response = alex.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("journey:today")


# A step and its completion ---------------------------------------------------------------


def test_step_page_shows_the_body_the_player_and_a_client_id(alex: Client) -> None:
    response = alex.get(reverse("journey:step", kwargs={"step_key": "what-stress-does"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "What stress does in your body" in html
    assert _client_id(html)
    assert "I have read this" in html


def test_opening_a_step_writes_one_viewed_event(alex: Client, alex_enrollment: Enrollment) -> None:
    alex.get(reverse("journey:step", kwargs={"step_key": "what-stress-does"}))
    assert _events(alex_enrollment, EventType.STEP_VIEWED) == 1


@pytest.mark.parametrize(
    ("key", "marker"),
    [
        ("slow-breathing", 'data-player="paced_breathing"'),
        ("first-thoughts", 'data-player="thought_record"'),
        ("grounding-senses", 'data-player="grounding"'),
        ("quiet-mind", 'data-player="mindfulness"'),
        ("planned-activity", 'data-player="behavioural_activation"'),
        ("worry-later", 'data-player="worry_time"'),
        ("free-writing", 'data-player="journaling"'),
        ("sleep-log", 'data-player="sleep_diary"'),
    ],
)
def test_every_exercise_kind_has_its_player_and_script(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step], key: str, marker: str
) -> None:
    _open_up_to(alex_enrollment, steps, key)
    html = alex.get(reverse("journey:step", kwargs={"step_key": key})).content.decode()
    assert marker in html
    kind = marker.split('"')[1]
    assert f"journey/players/{kind}.js" in html
    assert "<script>" not in html and " style=" not in html


def test_lesson_completion_is_recorded_and_leads_to_the_rating(
    alex: Client, alex_enrollment: Enrollment
) -> None:
    url = reverse("journey:step", kwargs={"step_key": "what-stress-does"})
    client_id = _client_id(alex.get(url).content.decode())
    response = alex.post(
        reverse("journey:complete", kwargs={"step_key": "what-stress-does"}),
        {"client_id": client_id, "duration_s": "40"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == reverse(
        "journey:step_done", kwargs={"step_key": "what-stress-does"}
    )
    done = alex.get(response.headers["Location"]).content.decode()
    assert "How helpful was this?" in done
    assert "<legend>" in done
    progress = StepProgress.objects.get(enrollment=alex_enrollment, step__key="what-stress-does")
    assert progress.status == ProgressStatus.COMPLETED
    assert progress.duration_s == 40


def test_a_double_submitted_completion_counts_once(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _complete(alex_enrollment, steps["what-stress-does"])
    page = alex.get(reverse("journey:step", kwargs={"step_key": "slow-breathing"}))
    form = {"client_id": _client_id(page.content.decode()), "minutes": "2", "breaths": "12"}
    url = reverse("journey:complete", kwargs={"step_key": "slow-breathing"})
    first = alex.post(url, form)
    second = alex.post(url, form)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    completed = EngagementEvent.objects.filter(
        enrollment=alex_enrollment, type=EventType.STEP_COMPLETED, step_key="slow-breathing"
    )
    assert completed.count() == 1
    assert completed.get().value == "12"


def test_thought_record_with_missing_fields_gets_field_messages_and_writes_nothing(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    for key in ("what-stress-does", "slow-breathing"):
        _complete(alex_enrollment, steps[key])
    response = alex.post(
        reverse("journey:complete", kwargs={"step_key": "first-thoughts"}),
        {
            "client_id": str(uuid.uuid4()),
            "situation": "At work",
            "intensity_before": "140",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="intensity_before-error"' in html
    assert "from 0 to 100" in html
    assert 'id="automatic_thought-error"' in html
    assert 'aria-invalid="true"' in html
    assert "At work" in html  # what was typed is kept
    assert not StepProgress.objects.filter(
        enrollment=alex_enrollment, step__key="first-thoughts", status=ProgressStatus.COMPLETED
    ).exists()
    assert _events(alex_enrollment, EventType.STEP_COMPLETED) == 2


def test_a_locked_step_cannot_be_completed(alex: Client, alex_enrollment: Enrollment) -> None:
    page = alex.get(reverse("journey:step", kwargs={"step_key": "first-thoughts"}))
    assert page.status_code == 200
    assert "This step is not open yet" in page.content.decode()
    response = alex.post(
        reverse("journey:complete", kwargs={"step_key": "first-thoughts"}),
        {"client_id": str(uuid.uuid4())},
    )
    assert response.status_code == 409
    assert "Opens after you finish" in response.content.decode()
    assert _events(alex_enrollment, EventType.STEP_COMPLETED) == 0


def test_sleep_diary_shows_the_sleep_efficiency_worked_out_on_the_server(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _open_up_to(alex_enrollment, steps, "sleep-log")
    response = alex.post(
        reverse("journey:complete", kwargs={"step_key": "sleep-log"}),
        {
            "client_id": str(uuid.uuid4()),
            "bed_time": "23:00",
            "rise_time": "07:00",
            "minutes_to_fall_asleep": "30",
            "wakings": "1",
            "minutes_awake": "18",
        },
        follow=True,
    )
    assert "Sleep efficiency" in response.content.decode()
    assert "90.0%" in response.content.decode()


# Rating -------------------------------------------------------------------------------------


def test_rating_is_recorded_once(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _complete(alex_enrollment, steps["what-stress-does"])
    page = alex.get(reverse("journey:step_done", kwargs={"step_key": "what-stress-does"}))
    client_id = _client_id(page.content.decode())
    url = reverse("journey:rate", kwargs={"step_key": "what-stress-does"})
    assert alex.post(url, {"client_id": client_id, "rating": "4"}).status_code == 302
    assert alex.post(url, {"client_id": client_id, "rating": "4"}).status_code == 302
    progress = StepProgress.objects.get(enrollment=alex_enrollment, step__key="what-stress-does")
    assert progress.rating == 4
    assert _events(alex_enrollment, EventType.EXERCISE_RATED) == 1


def test_a_rating_of_seven_gets_a_field_message_and_nothing_is_written(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _complete(alex_enrollment, steps["what-stress-does"])
    response = alex.post(
        reverse("journey:rate", kwargs={"step_key": "what-stress-does"}),
        {"client_id": str(uuid.uuid4()), "rating": "7"},
    )
    assert response.status_code == 400
    assert "Please choose a number from 1 to 5." in response.content.decode()
    assert 'id="rating-error"' in response.content.decode()
    progress = StepProgress.objects.get(enrollment=alex_enrollment, step__key="what-stress-does")
    assert progress.rating is None
    assert _events(alex_enrollment, EventType.EXERCISE_RATED) == 0


# Journal, mood, story, simple mode -------------------------------------------------------------


def test_journal_entry_is_saved_once_and_listed(alex: Client, alex_enrollment: Enrollment) -> None:
    client_id = _client_id(alex.get(reverse("journey:journal")).content.decode())
    form = {"client_id": client_id, "body": "Today was calmer than I expected."}
    assert alex.post(reverse("journey:journal"), form).status_code == 302
    assert alex.post(reverse("journey:journal"), form).status_code == 302
    assert JournalEntry.objects.filter(enrollment=alex_enrollment).count() == 1
    assert _events(alex_enrollment, EventType.JOURNAL_ENTRY) == 1
    html = alex.get(reverse("journey:journal")).content.decode()
    assert "Today was calmer than I expected." in html
    assert "Share with my care team" in html


def test_an_over_long_journal_entry_is_refused_with_a_field_message(
    alex: Client, alex_enrollment: Enrollment
) -> None:
    response = alex.post(
        reverse("journey:journal"), {"client_id": str(uuid.uuid4()), "body": "x" * 10_001}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="body-error"' in html
    assert "10,000" in html or "10000" in html
    assert not JournalEntry.objects.filter(enrollment=alex_enrollment).exists()
    assert _events(alex_enrollment, EventType.JOURNAL_ENTRY) == 0


def test_sharing_a_journal_entry_and_taking_it_back(
    alex: Client, alex_enrollment: Enrollment
) -> None:
    alex.post(reverse("journey:journal"), {"client_id": str(uuid.uuid4()), "body": "A hard day."})
    entry = JournalEntry.objects.get(enrollment=alex_enrollment)
    url = reverse("journey:journal_share", kwargs={"entry_id": entry.pk})
    assert alex.post(url, {"shared": "on"}).status_code == 302
    entry.refresh_from_db()
    assert entry.shared_with_care_team
    assert alex.post(url, {"shared": ""}).status_code == 302
    entry.refresh_from_db()
    assert not entry.shared_with_care_team


def test_another_patient_cannot_share_alexs_entry(
    alex: Client, alex_enrollment: Enrollment, client_for: Any
) -> None:
    alex.post(reverse("journey:journal"), {"client_id": str(uuid.uuid4()), "body": "Mine."})
    entry = JournalEntry.objects.get(enrollment=alex_enrollment)
    url = reverse("journey:journal_share", kwargs={"entry_id": entry.pk})
    assert client_for("patient_blair").post(url, {"shared": "on"}).status_code == 404
    assert client_for("therapist_maria").post(url, {"shared": "on"}).status_code == 403
    entry.refresh_from_db()
    assert not entry.shared_with_care_team


def test_mood_check_in_saves_score_and_note_once(alex: Client, alex_enrollment: Enrollment) -> None:
    client_id = _client_id(alex.get(reverse("journey:mood")).content.decode())
    form = {"client_id": client_id, "score": "6", "note": "Slept well."}
    assert alex.post(reverse("journey:mood"), form).status_code == 302
    assert alex.post(reverse("journey:mood"), form).status_code == 302
    checkin = MoodCheckIn.objects.get(enrollment=alex_enrollment)
    assert (checkin.score, checkin.note) == (6, "Slept well.")
    assert _events(alex_enrollment, EventType.MOOD_CHECKIN) == 1


@pytest.mark.parametrize(
    ("form", "field"),
    [({"score": "11"}, "score"), ({"score": "5", "note": "n" * 1001}, "note"), ({}, "score")],
)
def test_bad_mood_check_in_is_refused_with_a_field_message(
    alex: Client, alex_enrollment: Enrollment, form: dict[str, str], field: str
) -> None:
    response = alex.post(reverse("journey:mood"), {"client_id": str(uuid.uuid4()), **form})
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.content.decode()
    assert not MoodCheckIn.objects.filter(enrollment=alex_enrollment).exists()


def test_story_shows_what_was_done_and_no_streak(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _complete(alex_enrollment, steps["what-stress-does"])
    _complete(alex_enrollment, steps["slow-breathing"], {"minutes": "3"})
    html = alex.get(reverse("journey:story")).content.decode()
    assert "My story so far" in html
    assert "Slow breathing" in html and "What stress does in your body" in html
    assert "Exercises done" in html and "Chapters finished" in html
    assert "streak" not in html.lower()


def test_simple_mode_switches_on_and_makes_pages_simpler(alex: Client, cast: personas.Cast) -> None:
    assert 'class="journey"' in alex.get(reverse("journey:today")).content.decode()
    response = alex.post(reverse("journey:simple_mode"), {"enabled": "on"})
    assert response.status_code == 302
    assert Preferences.objects.get(user=cast["patient_alex"]).simple_mode
    html = alex.get(reverse("journey:today")).content.decode()
    assert 'class="journey simple-mode"' in html
    assert "In this chapter" not in html
    alex.post(reverse("journey:simple_mode"), {"enabled": ""})
    assert not Preferences.objects.get(user=cast["patient_alex"]).simple_mode


# Who may see what ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["therapist_maria", "coach_jordan", "admin_avery"])
def test_staff_get_403_on_the_patient_pages(
    client_for: Any, alex_enrollment: Enrollment, persona: str
) -> None:
    client = client_for(persona)
    for url in (
        reverse("journey:today"),
        reverse("journey:step", kwargs={"step_key": "what-stress-does"}),
        reverse("journey:journal"),
        reverse("journey:story"),
    ):
        assert client.get(url).status_code == 403


def test_another_patient_gets_404_on_alexs_steps(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    farah = client_for("patient_farah")
    url = reverse("journey:step", kwargs={"step_key": "what-stress-does"})
    assert farah.get(url).status_code == 404
    assert _events(alex_enrollment, EventType.STEP_VIEWED) == 0


def test_a_step_key_outside_the_program_is_404(alex: Client) -> None:
    assert alex.get(reverse("journey:step", kwargs={"step_key": "no-such-step"})).status_code == 404


def test_a_patient_in_a_program_sees_their_own_links(alex: Client) -> None:
    html = alex.get(reverse("journey:today")).content.decode()
    nav = html[html.index("<nav") : html.index("</nav>")]
    for label in ("Today", "Journal", "Mood", "My story", "My account"):
        assert f">{label}</a>" in nav
    assert f'href="{reverse("journey:today")}" aria-current="page"' in nav


def test_a_planned_activity_shows_on_today(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _open_up_to(alex_enrollment, steps, "planned-activity")
    response = alex.post(
        reverse("journey:complete", kwargs={"step_key": "planned-activity"}),
        {"client_id": str(uuid.uuid4()), **VALID_ANSWERS["behavioural_activation"]},
    )
    assert response.status_code == 302
    html = alex.get(reverse("journey:today")).content.decode()
    assert "Activities you planned" in html
    assert "Walk round the block" in html
    assert "Tue 10 Mar, 10:30" in html


def test_a_planned_activity_can_be_marked_done_with_mood_and_mastery(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _open_up_to(alex_enrollment, steps, "planned-activity")
    alex.post(
        reverse("journey:complete", kwargs={"step_key": "planned-activity"}),
        {"client_id": str(uuid.uuid4()), **VALID_ANSWERS["behavioural_activation"]},
    )
    url = reverse("journey:activity_done", kwargs={"step_key": "planned-activity"})
    client_id = str(uuid.uuid4())
    first = alex.post(url, {"client_id": client_id, "mood": "7", "mastery": "6"})
    assert first.status_code == 302
    repeat = alex.post(url, {"client_id": client_id, "mood": "7", "mastery": "6"})
    assert repeat.status_code == 302
    progress = StepProgress.objects.get(enrollment=alex_enrollment, step=steps["planned-activity"])
    assert progress.response["done"] is True
    assert (progress.response["mood"], progress.response["mastery"]) == (7, 6)
    assert progress.response["activity"] == "Walk round the block"
    assert _events(alex_enrollment, EventType.ACTIVITY_DONE) == 1


def test_marking_an_activity_done_refuses_a_mood_of_eleven(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _open_up_to(alex_enrollment, steps, "planned-activity")
    alex.post(
        reverse("journey:complete", kwargs={"step_key": "planned-activity"}),
        {"client_id": str(uuid.uuid4()), **VALID_ANSWERS["behavioural_activation"]},
    )
    url = reverse("journey:activity_done", kwargs={"step_key": "planned-activity"})
    response = alex.post(url, {"client_id": str(uuid.uuid4()), "mood": "11", "mastery": "6"})
    assert response.status_code == 400
    progress = StepProgress.objects.get(enrollment=alex_enrollment, step=steps["planned-activity"])
    assert not progress.response.get("done")
    assert _events(alex_enrollment, EventType.ACTIVITY_DONE) == 0
