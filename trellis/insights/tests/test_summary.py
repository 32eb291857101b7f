"""The progress summary before a contact: each part against exact values on data made
through the services, the period's boundary, shared journal entries only, nothing said
without data, and a fixed number of queries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from trellis.alerts.models import AlertState
from trellis.alerts.services import close_alert, raise_alert
from trellis.alerts.tests.helpers import enroll_patient
from trellis.appointments import services as sessions
from trellis.appointments.tests.helpers import NOW as JUNE_1
from trellis.appointments.tests.helpers import WEDNESDAY_9, wednesday_mornings
from trellis.care import consent
from trellis.care.models import ConsentDocument, Enrollment, SupportLevel
from trellis.insights import scoring
from trellis.insights.models import RiskMethod, RiskScore
from trellis.insights.summary import (
    Activity,
    Contact,
    MoodTrend,
    Rating,
    SharedEntry,
    StepDone,
    progress_summary,
)
from trellis.journey import services as journey
from trellis.journey.tests.factories import enroll_alex
from trellis.measures.services import submit_response
from trellis.messaging.services import send_message
from trellis.programs.models import Step

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
DAY = timedelta(days=1)
NEW_YORK = ZoneInfo("America/New_York")
BREATHING = {"minutes": 5, "breaths": 30}
THOUGHT = {
    "situation": "Waiting for the bus in the rain",
    "automatic_thought": "I'll be late and everyone will be annoyed",
    "emotion": "worry",
    "intensity_before": 70,
    "evidence_for": "The bus is late",
    "evidence_against": "I left early",
    "balanced_thought": "I may be a few minutes late, and that is fine",
    "intensity_after": 40,
}
SHARED = (
    "Walking after dinner helped me notice my breathing slow down and I slept better that night too"
)
PRIVATE = "Private words nobody on the care team should ever read"


@pytest.fixture
def alex(cast: Any) -> Enrollment:
    return enroll_alex(cast, now=START)


@pytest.fixture
def steps(alex: Enrollment) -> dict[str, Step]:
    return {s.key: s for s in Step.objects.filter(version_id=alex.program_version_id)}


def complete(enrollment: Enrollment, step: Step, at: datetime, response: Any = None) -> None:
    journey.complete_step(
        enrollment,
        step,
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        response=response or {},
        duration_s=300,
        now=at,
    )


def rate(enrollment: Enrollment, step: Step, rating: int, at: datetime) -> None:
    journey.rate_step(
        enrollment, step, actor=enrollment.patient, rating=rating, client_id=uuid.uuid4(), now=at
    )


def mood(enrollment: Enrollment, score: int, at: datetime) -> None:
    journey.check_in_mood(
        enrollment, actor=enrollment.patient, score=score, note="", client_id=uuid.uuid4(), now=at
    )


def journal(enrollment: Enrollment, body: str, at: datetime, *, shared: bool) -> None:
    journey.add_journal_entry(
        enrollment,
        actor=enrollment.patient,
        body=body,
        shared=shared,
        client_id=uuid.uuid4(),
        now=at,
    )


def write(enrollment: Enrollment, sender: Any, at: datetime, body: str = "How are you?") -> None:
    send_message(enrollment, sender=sender, body=body, client_id=uuid.uuid4(), now=at)


def answers(code: str, total: int) -> dict[str, int]:
    """Answers adding up to `total`, never touching PHQ-9 item 9 (no safety alert)."""
    values = {}
    for n in range(1, (8 if code == "PHQ-9" else 7) + 1):
        values[f"q{n}"] = min(3, total)
        total -= values[f"q{n}"]
    if code == "PHQ-9":
        values["q9"] = 0
    return values


def answer(enrollment: Enrollment, code: str, total: int, at: datetime) -> None:
    submit_response(
        enrollment,
        code,
        actor=enrollment.patient,
        answers=answers(code, total),
        client_id=uuid.uuid4(),
        now=at,
    )


def summary_of(enrollment: Enrollment, now: datetime) -> Any:
    return progress_summary(enrollment, now=now, tz=NEW_YORK)


def rendered(progress: Any) -> str:
    with timezone.override(NEW_YORK):
        return render_to_string("insights/_progress_summary.html", {"progress": progress})


def test_before_any_contact_the_period_starts_with_the_program_and_nothing_is_invented(
    alex: Enrollment,
) -> None:
    progress = summary_of(alex, START + 3 * DAY)
    assert progress.since == Contact(START, "start")
    assert progress.days == 3
    assert progress.activity == Activity()
    assert (progress.scores, progress.mood, progress.shared, progress.alerts) == ([], None, [], [])
    assert progress.risk is None
    html = rendered(progress)
    assert "Written automatically by Trellis from the record; check the details below." in html
    assert "Since the program started on 2 Mar 2026, 09:00 (3 days ago)" in html
    for nothing in (
        "No activity since 2 Mar 2026, 09:00.",
        "No PHQ-9 or GAD-7 answered since 2 Mar 2026, 09:00.",
        "No mood check-ins since 2 Mar 2026, 09:00.",
        "No journal entries shared since 2 Mar 2026, 09:00.",
        "None open.",
        "No dropout-risk estimate for this patient yet.",
    ):
        assert nothing in html
    for invented in ("Active on", "Completed", "check-in,", "average", "% chance", "points"):
        assert invented not in html


def test_a_message_from_the_care_team_starts_the_period_and_what_came_before_is_not_counted(
    cast: Any, alex: Enrollment, steps: dict[str, Step]
) -> None:
    complete(alex, steps["what-stress-does"], START + DAY)
    mood(alex, 3, START + DAY)
    journal(alex, "Before the message, shared", START + DAY, shared=True)
    write(alex, cast["therapist_maria"], START + 2 * DAY)
    write(alex, alex.patient, START + 2 * DAY + timedelta(hours=12))  # the patient's: no reset
    complete(alex, steps["slow-breathing"], START + 3 * DAY, BREATHING)

    progress = summary_of(alex, START + 4 * DAY)

    assert progress.since == Contact(START + 2 * DAY, "message", "Maria Lindqvist")
    assert [s.title for s in progress.activity.steps] == ["Slow breathing"]
    # 4 Mar 21:00 and 5 Mar 09:00 in New York: two days of the patient's own.
    assert progress.activity.active_days == 2
    assert progress.shared == []
    assert progress.mood is None
    html = rendered(progress)
    assert "Since Maria Lindqvist last wrote to the patient on 4 Mar 2026, 09:00 (2 days ago)" in (
        html
    )
    assert "What stress does in your body" not in html
    assert "Before the message" not in html


def test_the_last_attended_session_starts_the_period_when_it_is_the_later_contact(
    cast: Any,
) -> None:
    enrollment = enroll_alex(cast, now=JUNE_1 - 3 * DAY)
    wednesday_mornings(cast, now=JUNE_1)
    maria = cast["therapist_maria"]
    write(enrollment, maria, JUNE_1)
    session = sessions.book(
        enrollment,
        supporter=maria,
        starts_at=WEDNESDAY_9,
        mode="video",
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        now=JUNE_1,
    )
    sessions.record_attendance(
        session, attended=True, actor=maria, minutes=45, now=WEDNESDAY_9 + timedelta(hours=1)
    )
    mood(enrollment, 7, WEDNESDAY_9 - timedelta(hours=2))  # before the session
    mood(enrollment, 8, WEDNESDAY_9 + DAY)

    progress = summary_of(enrollment, WEDNESDAY_9 + 2 * DAY)

    assert progress.since == Contact(WEDNESDAY_9, "session", "Maria Lindqvist")
    assert progress.mood == MoodTrend(count=1, average=8.0, before_count=1, before_average=7.0)
    assert progress.mood.direction == "up"
    assert "Since the session with Maria Lindqvist on 3 Jun 2026, 09:00 (2 days ago)" in (
        rendered(progress)
    )


def test_every_part_of_the_period_with_its_numbers(
    cast: Any, alex: Enrollment, steps: dict[str, Step]
) -> None:
    answer(alex, "PHQ-9", 18, START)
    answer(alex, "GAD-7", 12, START)
    answer(alex, "PHQ-9", 15, START + 7 * DAY + timedelta(hours=1))
    mood(alex, 4, START + 8 * DAY)
    mood(alex, 5, START + 9 * DAY)
    write(alex, cast["therapist_maria"], START + 10 * DAY)
    complete(alex, steps["what-stress-does"], START + 11 * DAY)
    complete(alex, steps["slow-breathing"], START + 11 * DAY + timedelta(hours=1), BREATHING)
    rate(alex, steps["slow-breathing"], 2, START + 11 * DAY + timedelta(hours=2))
    rate(alex, steps["slow-breathing"], 4, START + 11 * DAY + timedelta(hours=3))
    complete(alex, steps["first-thoughts"], START + 12 * DAY, THOUGHT)
    rate(alex, steps["first-thoughts"], 5, START + 12 * DAY + timedelta(minutes=5))
    journal(alex, SHARED, START + 12 * DAY, shared=True)
    journal(alex, PRIVATE, START + 12 * DAY + timedelta(hours=1), shared=False)
    answer(alex, "PHQ-9", 11, START + 14 * DAY)
    mood(alex, 6, START + 12 * DAY)
    mood(alex, 8, START + 13 * DAY)
    mood(alex, 7, START + 13 * DAY + timedelta(hours=2))
    raise_alert(
        alex,
        kind="inactivity",
        severity="low",
        reason="Quiet",
        assigned_to=None,
        now=START + 5 * DAY,
    )
    closed = raise_alert(
        alex, kind="deterioration", severity="high", reason="Up", assigned_to=None, now=START
    )
    assert closed is not None
    close_alert(
        closed, actor=cast["therapist_maria"], state=AlertState.RESOLVED, reason="ok", now=START
    )
    RiskScore.objects.create(  # what the nightly run writes with a model installed
        enrollment=alex,
        scored_on=(START + 13 * DAY).date(),
        scored_at=START + 13 * DAY,
        as_of_day=13,
        method=RiskMethod.MODEL,
        risk=0.3412,
        reasons=["active on 1 of the last 3 days", "no mood check-in for 5 days"],
    )

    now = START + 15 * DAY
    progress = summary_of(alex, now)

    assert progress.since == Contact(START + 10 * DAY, "message", "Maria Lindqvist")
    assert progress.activity == Activity(
        active_days=4,  # 13, 14, 15 and 16 March in New York
        steps=[
            StepDone("What stress does in your body", "lesson", "Lesson", START + 11 * DAY),
            StepDone(
                "Slow breathing",
                "exercise",
                "Paced breathing",
                START + 11 * DAY + timedelta(hours=1),
            ),
            StepDone("Catching a thought", "exercise", "Thought record", START + 12 * DAY),
        ],
        ratings=[
            Rating("Slow breathing", 4, START + 11 * DAY + timedelta(hours=3)),
            Rating("Catching a thought", 5, START + 12 * DAY + timedelta(minutes=5)),
        ],
        journal_entries=2,
    )
    [phq9] = progress.scores  # the GAD-7 was answered before the period: not shown
    assert (phq9.code, phq9.total, phq9.at, phq9.in_period) == ("PHQ-9", 11, START + 14 * DAY, 1)
    assert phq9.since_previous is not None and phq9.since_previous.points == -4
    assert phq9.since_baseline is not None and phq9.since_baseline.points == -7
    assert progress.mood == MoodTrend(count=3, average=7.0, before_count=2, before_average=4.5)
    assert progress.mood.direction == "up"
    assert progress.shared == [
        SharedEntry(
            START + 12 * DAY,
            "Walking after dinner helped me notice my breathing slow down and I",
            True,
        )
    ]
    assert [(a.kind, a.since) for a in progress.alerts] == [("inactivity", START + 5 * DAY)]
    assert progress.risk is not None
    assert (progress.risk.percent, progress.risk.rules_only) == (34, False)

    html = rendered(progress)
    for words in (
        "Active on 4 days.",
        "Wrote 2 journal entries.",
        "Completed 3 steps:",
        'Slow breathing <span class="cell-meta">(Paced breathing)</span>',
        "Rated 2 steps for helpfulness:",
        "Slow breathing: 4 of 5",
        "Catching a thought: 5 of 5",
        f"<strong>PHQ-9 11</strong> ({phq9.band})",
        "Down 4 points since the score before (15).",
        "Down 7 points since the first score (18 on 2 Mar).",
        "3 check-ins, average 7.0 of 10.",
        "The period before, of the same length: 2 check-ins, average 4.5.",
        "Mood is higher.",
        "1 entry shared with the care team:",
        "“Walking after dinner helped me notice my breathing slow down and I…”",
        "No recent activity</a> (Low), open since 7 Mar 09:00",
        "34% chance of no activity in the next 14 days (estimated 15 Mar).",
        "Why: active on 1 of the last 3 days; no mood check-in for 5 days.",
        f'href="{reverse("insights:model")}"',
    ):
        assert words in html, words
    assert "GAD-7" not in html.replace("No PHQ-9 or GAD-7", "")
    assert "Reliable deterioration" not in html
    assert PRIVATE.split()[0] not in html


def test_journal_entries_the_patient_did_not_share_never_appear(
    cast: Any, alex: Enrollment
) -> None:
    journal(alex, PRIVATE, START + DAY, shared=False)
    journal(alex, SHARED, START + DAY + timedelta(hours=1), shared=True)
    entry = alex.journal.get(shared_with_care_team=True)
    journey.set_journal_sharing(entry, actor=alex.patient, shared=False, now=START + 2 * DAY)

    progress = summary_of(alex, START + 3 * DAY)

    assert progress.shared == []
    assert progress.activity.journal_entries == 2  # a count of the log's events, no words
    html = rendered(progress)
    assert "No journal entries shared since 2 Mar 2026, 09:00." in html
    for words in (PRIVATE, "Walking after dinner"):
        assert words.split()[0] not in html


def test_mood_without_check_ins_in_the_period_before_is_not_compared(alex: Enrollment) -> None:
    mood(alex, 6, START + DAY)
    progress = summary_of(alex, START + 2 * DAY)
    assert progress.mood == MoodTrend(count=1, average=6.0)
    assert progress.mood.direction == ""
    html = rendered(progress)
    assert "1 check-in, average 6.0 of 10." in html
    assert "No check-ins in the period before to compare with." in html
    assert "Mood is" not in html


def test_mood_within_half_a_point_of_the_period_before_is_about_the_same(
    cast: Any, alex: Enrollment
) -> None:
    mood(alex, 6, START + DAY)
    write(alex, cast["therapist_maria"], START + 2 * DAY)
    mood(alex, 6, START + 3 * DAY)
    mood(alex, 6, START + 3 * DAY + timedelta(hours=1))
    mood(alex, 7, START + 3 * DAY + timedelta(hours=2))
    progress = summary_of(alex, START + 4 * DAY)
    assert progress.mood == MoodTrend(count=3, average=19 / 3, before_count=1, before_average=6.0)
    assert progress.mood.direction == "steady"
    assert "Mood is about the same (within half a point)." in rendered(progress)


def test_a_clinic_that_uses_rules_only_is_said_to(cast: Any, alex: Enrollment) -> None:
    consent.current_documents(None)
    consent.give_consent(
        ConsentDocument.objects.get(kind="automation", version=3, organization=None, locale="en"),
        actor=alex.patient,
        now=START,
    )
    scoring.score_clinic(alex.organization, now=START + 2 * DAY)
    progress = summary_of(alex, START + 3 * DAY)
    assert progress.risk is not None and progress.risk.rules_only
    html = rendered(progress)
    assert "The clinic uses its alert rules only, with no risk model (checked 4 Mar)." in html
    assert f'href="{reverse("insights:model")}"' in html
    assert "% chance" not in html


def test_a_single_score_is_the_first_and_two_scores_compare_once(alex: Enrollment) -> None:
    answer(alex, "GAD-7", 9, START + DAY)
    [gad7] = summary_of(alex, START + 2 * DAY).scores
    assert (gad7.since_previous, gad7.since_baseline) == (None, None)
    assert "The first score." in rendered(summary_of(alex, START + 2 * DAY))
    answer(alex, "GAD-7", 13, START + 8 * DAY)
    progress = summary_of(alex, START + 9 * DAY)
    [gad7] = progress.scores
    assert gad7.in_period == 2
    assert gad7.since_previous is not None and gad7.since_previous.points == 4
    assert gad7.since_baseline is None  # the score before is the first: said once
    html = rendered(progress)
    assert "Up 4 points since the score before (9)." in html
    assert "since the first score" not in html
    assert "Answered 2 times in this period." in html


def test_the_summary_costs_the_same_nine_queries_however_much_happened(
    cast: Any, alex: Enrollment, steps: dict[str, Step], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(9):
        summary_of(alex, START + DAY)
    blair = enroll_patient(
        cast, "patient_blair", SupportLevel.COACHED, ("coach_jordan",), now=START
    )
    write(alex, cast["therapist_maria"], START + DAY)
    for n in range(5):
        mood(alex, 5 + n, START + (2 + n) * DAY)
        journal(alex, f"Shared day {n}", START + (2 + n) * DAY, shared=True)
        mood(blair, 3, START + (2 + n) * DAY)
    answer(alex, "PHQ-9", 16, START + 2 * DAY)
    answer(alex, "PHQ-9", 12, START + 7 * DAY + timedelta(hours=1))
    complete(alex, steps["what-stress-does"], START + 3 * DAY)
    complete(alex, steps["slow-breathing"], START + 3 * DAY, BREATHING)
    rate(alex, steps["slow-breathing"], 4, START + 3 * DAY)
    raise_alert(alex, kind="inactivity", severity="low", reason="q", assigned_to=None, now=START)
    with django_assert_num_queries(9):
        progress = summary_of(alex, START + 8 * DAY)
    assert len(progress.shared) == 5 and progress.mood is not None
    assert progress.mood.count == 5
