"""One questionnaire of an instrument per window, whatever asks for it: an answer given
within the window stands for the weekly schedule (in any of the patient's programs); the
fixed measures (getting started, baseline) are always asked; safety answers are always
acted on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from trellis.alerts.models import SafetyEvent
from trellis.care.models import Enrollment, SupportLevel
from trellis.demo import personas
from trellis.measures import queries, schedules, services
from trellis.measures.models import AssignmentStatus, Occasion, QuestionnaireAssignment
from trellis.measures.services import ResponseInvalid, submit_response
from trellis.measures.tests.conftest import all_ones
from trellis.onboarding.services import enroll_patient
from trellis.programs.models import Step
from trellis.programs.services import publish_pack

CONTENT = Path(__file__).resolve().parents[3] / "content"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HELSINKI = ZoneInfo("Europe/Helsinki")


# The rule, with no database ---------------------------------------------------------------


def test_the_window_is_the_weekly_interval_for_weekly_measures_else_the_recall_period() -> None:
    assert schedules.repeat_window_days("PHQ-9") == 7
    assert schedules.repeat_window_days("GAD-7") == 7
    assert schedules.repeat_window_days("PHQ-2") == 14
    assert schedules.repeat_window_days("eHEALS") == 14


def test_an_answer_stands_until_the_window_has_passed_in_calendar_days() -> None:
    sunday = MONDAY + timedelta(days=6, hours=12)
    next_monday = MONDAY + timedelta(days=7)
    assert schedules.answer_stands(MONDAY, sunday, "PHQ-9", UTC)
    assert not schedules.answer_stands(MONDAY, next_monday, "PHQ-9", UTC)
    assert schedules.answer_stands(MONDAY, MONDAY + timedelta(days=13), "PHQ-2", UTC)
    assert not schedules.answer_stands(MONDAY, MONDAY + timedelta(days=14), "PHQ-2", UTC)


def test_an_answer_given_after_the_request_stands_for_it() -> None:
    assert schedules.answer_stands(MONDAY + timedelta(days=2), MONDAY, "GAD-7", UTC)


def test_calendar_days_are_counted_in_the_patients_zone() -> None:
    late_monday = datetime(2026, 3, 2, 23, 30, tzinfo=HELSINKI)
    early_next_monday = datetime(2026, 3, 9, 0, 30, tzinfo=HELSINKI)
    # 6 days 1 hour apart, but on Mondays a week apart in Helsinki: asked again.
    assert not schedules.answer_stands(late_monday, early_next_monday, "PHQ-9", HELSINKI)


# The schedule --------------------------------------------------------------------------------


def submit(enrollment: Enrollment, code: str, answers: Any, at: datetime, **kw: Any) -> Any:
    return submit_response(
        enrollment,
        code,
        actor=enrollment.patient,
        answers=answers,
        client_id=uuid.uuid4(),
        now=at,
        **kw,
    )


def weekly(enrollment: Enrollment, code: str, week: int = 1) -> QuestionnaireAssignment:
    return QuestionnaireAssignment.objects.get(
        enrollment=enrollment, instrument=code, occasion=Occasion.WEEKLY, sequence=week
    )


def _step(enrollment: Enrollment, key: str) -> Step:
    return Step.objects.get(version_id=enrollment.program_version_id, key=key)


def test_a_weekly_measure_answered_days_before_in_a_program_step_is_not_asked(
    alex_in_program: Enrollment, start: datetime
) -> None:
    services.announce_due(start)  # getting started and the baseline
    week1 = weekly(alex_in_program, "GAD-7").due_from
    submit(
        alex_in_program,
        "GAD-7",
        all_ones(7, 1),
        week1 - timedelta(days=2),
        step=_step(alex_in_program, "weekly-check"),
    )
    due = {(a.instrument, a.occasion) for a in queries.due_for(alex_in_program, week1)}
    assert ("GAD-7", Occasion.WEEKLY) not in due
    assert ("PHQ-9", Occasion.WEEKLY) in due  # another instrument is still asked
    assert services.announce_due(week1) == 1  # the weekly PHQ-9 only
    assert not weekly(alex_in_program, "GAD-7").due_event_written
    assert weekly(alex_in_program, "GAD-7").status == AssignmentStatus.CANCELLED
    services.mark_overdue(week1 + timedelta(days=3))
    assert not weekly(alex_in_program, "GAD-7").overdue_event_written
    assert weekly(alex_in_program, "PHQ-9").overdue_event_written


def test_a_weekly_measure_is_asked_once_the_window_has_passed(
    alex_in_program: Enrollment, start: datetime
) -> None:
    week1 = weekly(alex_in_program, "GAD-7").due_from
    submit(alex_in_program, "GAD-7", all_ones(7, 1), start + timedelta(minutes=1))  # baseline
    assert (week1.date() - start.date()).days == 7
    due = {(a.instrument, a.occasion) for a in queries.due_for(alex_in_program, week1)}
    assert ("GAD-7", Occasion.WEEKLY) in due


def test_a_weekly_measure_open_when_a_step_answers_it_is_no_longer_asked(
    alex_in_program: Enrollment, start: datetime
) -> None:
    week1 = weekly(alex_in_program, "GAD-7").due_from
    services.announce_due(week1)
    submit(
        alex_in_program,
        "GAD-7",
        all_ones(7, 2),
        week1 + timedelta(hours=3),
        step=_step(alex_in_program, "weekly-check"),
    )
    assert weekly(alex_in_program, "GAD-7").status == AssignmentStatus.CANCELLED
    assert weekly(alex_in_program, "PHQ-9").status == AssignmentStatus.PENDING
    due = {(a.instrument, a.occasion) for a in queries.due_for(alex_in_program, week1)}
    assert ("GAD-7", Occasion.WEEKLY) not in due


@pytest.fixture
def two_programs(cast: personas.Cast, alex_in_program: Enrollment) -> tuple[Enrollment, Enrollment]:
    """Alex in the journey test program and in Better sleep, both started the same Monday."""
    sleep = enroll_patient(
        patient=cast["patient_alex"],
        program_version=publish_pack(CONTENT / "better-sleep", actor=None),
        support_level=SupportLevel.SELF_GUIDED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=alex_in_program.started_at,
    )
    return alex_in_program, sleep


def test_an_answer_in_one_program_stands_for_the_weekly_measure_of_another(
    two_programs: tuple[Enrollment, Enrollment],
) -> None:
    steady, sleep = two_programs
    week1 = weekly(steady, "PHQ-9").due_from
    assert weekly(sleep, "PHQ-9").due_from == week1
    answered = weekly(steady, "PHQ-9")
    submit(steady, "PHQ-9", all_ones(9, 1), week1 + timedelta(minutes=5), assignment=answered)
    assert weekly(steady, "PHQ-9").status == AssignmentStatus.COMPLETED
    assert weekly(sleep, "PHQ-9").status == AssignmentStatus.CANCELLED
    due = {(a.instrument, a.occasion) for a in queries.due_for(sleep, week1)}
    assert ("PHQ-9", Occasion.WEEKLY) not in due


def test_the_baseline_of_a_second_program_is_asked_all_the_same(
    two_programs: tuple[Enrollment, Enrollment], start: datetime
) -> None:
    steady, sleep = two_programs
    baseline = QuestionnaireAssignment.objects.get(
        enrollment=steady, instrument="PHQ-9", occasion=Occasion.BASELINE
    )
    submit(steady, "PHQ-9", all_ones(9, 1), start + timedelta(minutes=5), assignment=baseline)
    due = {(a.instrument, a.occasion) for a in queries.due_for(sleep, start + timedelta(hours=1))}
    assert ("PHQ-9", Occasion.BASELINE) in due


def test_an_answer_to_a_measure_no_longer_asked_still_acts_on_item_9(
    alex_in_program: Enrollment, start: datetime
) -> None:
    """SAFETY: an answer that is given is always acted on, even to a questionnaire that a
    recent answer already stood for."""
    week1 = weekly(alex_in_program, "PHQ-9").due_from
    submit(alex_in_program, "PHQ-9", all_ones(9, 0), week1 - timedelta(days=1))
    services.announce_due(week1)
    cancelled = weekly(alex_in_program, "PHQ-9")
    assert cancelled.status == AssignmentStatus.CANCELLED
    answers = {**all_ones(9, 0), "q9": 2}
    with pytest.raises(ResponseInvalid) as refused:
        submit(alex_in_program, "PHQ-9", answers, week1 + timedelta(hours=1), assignment=cancelled)
    assert refused.value.crisis_resources
    assert SafetyEvent.objects.filter(enrollment=alex_in_program).count() == 1


def test_the_overdue_job_cancels_a_weekly_measure_a_recent_answer_stands_for(
    alex_in_program: Enrollment,
) -> None:
    week1 = weekly(alex_in_program, "GAD-7").due_from
    submit(
        alex_in_program,
        "GAD-7",
        all_ones(7, 1),
        week1 - timedelta(days=1),
        step=_step(alex_in_program, "weekly-check"),
    )
    services.mark_overdue(week1 + timedelta(days=3))  # the due job never ran for week 1
    assert weekly(alex_in_program, "GAD-7").status == AssignmentStatus.CANCELLED
    assert weekly(alex_in_program, "PHQ-9").status == AssignmentStatus.OVERDUE
