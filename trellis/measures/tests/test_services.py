"""Planning questionnaires, answering them (checked, scored, idempotent, safety first), and
the clock jobs that announce due and overdue questionnaires exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied

from trellis.alerts.models import SafetyEvent
from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment, EnrollmentStatus, Preferences, SupportLevel
from trellis.demo import personas
from trellis.engagement.models import EngagementEvent
from trellis.measures import queries, services
from trellis.measures.models import (
    AssignmentStatus,
    Occasion,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.measures.services import ResponseInvalid, submit_response
from trellis.measures.tests.conftest import all_ones

GAD7_TWOS = all_ones(7, 2)  # total 14: moderate


def events(enrollment: Enrollment, kind: str) -> list[str]:
    return list(
        EngagementEvent.objects.filter(enrollment=enrollment, type=kind)
        .order_by("id")
        .values_list("value", flat=True)
    )


def submit(enrollment: Enrollment, code: str, answers: Any, at: datetime, **kw: Any) -> Any:
    return submit_response(
        enrollment,
        code,
        actor=kw.pop("actor", enrollment.patient),
        answers=answers,
        client_id=kw.pop("client_id", uuid.uuid4()),
        now=at,
        **kw,
    )


def nothing_written(enrollment: Enrollment) -> None:
    assert not QuestionnaireResponse.objects.filter(enrollment=enrollment).exists()
    assert events(enrollment, "questionnaire_submitted") == []
    assert not AuditEvent.objects.filter(action="measures.submit").exists()


# Planning -----------------------------------------------------------------------------


def test_enrolling_plans_the_questionnaires(alex_in_program: Enrollment, start: datetime) -> None:
    planned = list(
        queries.assignments_for(alex_in_program).values_list("instrument", "occasion", "sequence")
    )
    # The test program is two weeks long: week 1 weekly, week 2 the end, then follow-up.
    assert sorted(planned) == sorted(
        [
            ("eHEALS", "onboarding", 0),
            ("PHQ-9", "baseline", 0),
            ("GAD-7", "baseline", 0),
            ("PHQ-9", "weekly", 1),
            ("GAD-7", "weekly", 1),
            ("PHQ-9", "end", 2),
            ("GAD-7", "end", 2),
            ("PHQ-9", "follow_up", 0),
            ("GAD-7", "follow_up", 0),
        ]
    )
    due = queries.due_for(alex_in_program, start)
    assert {a.instrument for a in due} == {"eHEALS", "PHQ-9", "GAD-7"}
    # Scheduling again adds nothing.
    services.schedule_for_enrollment(alex_in_program, now=start)
    assert QuestionnaireAssignment.objects.filter(enrollment=alex_in_program).count() == 9


def test_windows_follow_the_patients_own_time_zone(cast: personas.Cast, start: datetime) -> None:
    from trellis.journey.tests.factories import enroll_alex

    Preferences.objects.update_or_create(
        user=cast["patient_alex"], defaults={"time_zone": "Europe/Helsinki"}
    )
    enrollment = enroll_alex(cast, now=start)
    week1 = QuestionnaireAssignment.objects.get(
        enrollment=enrollment, instrument="PHQ-9", occasion="weekly", sequence=1
    )
    local = week1.due_from.astimezone(ZoneInfo("Europe/Helsinki"))
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-03-09", 9, 0)


# Answering ----------------------------------------------------------------------------


def test_a_valid_response_is_scored_stored_and_completes_what_was_due(
    alex_in_program: Enrollment, start: datetime
) -> None:
    at = start + timedelta(hours=1)
    done = submit(alex_in_program, "GAD-7", GAD7_TWOS, at)
    response = done.response
    assert (response.total, response.band, response.prorated) == (14, "Moderate", False)
    assert done.crisis_resources is None and done.safety_events == []
    assert response.assignment.occasion == "baseline"
    assert response.assignment.status == AssignmentStatus.COMPLETED
    assert events(alex_in_program, "questionnaire_submitted") == ["GAD-7:14"]
    audit = AuditEvent.objects.get(action="measures.submit")
    assert audit.patient_id == alex_in_program.patient_id
    assert queries.latest_scores(alex_in_program) == {"GAD-7": 14}


def test_the_same_client_id_twice_stores_one_response(
    alex_in_program: Enrollment, start: datetime
) -> None:
    client_id = uuid.uuid4()
    first = submit(alex_in_program, "GAD-7", GAD7_TWOS, start, client_id=client_id)
    again = submit(alex_in_program, "GAD-7", GAD7_TWOS, start, client_id=client_id)
    assert again.response.pk == first.response.pk and not again.created
    assert QuestionnaireResponse.objects.count() == 1
    assert events(alex_in_program, "questionnaire_submitted") == ["GAD-7:14"]


def test_a_repeat_while_another_of_its_questionnaires_is_open_returns_the_first(
    alex_in_program: Enrollment, start: datetime
) -> None:
    """The repeat passes every check (a questionnaire of its kind is open) and is told
    apart by its client id, already taken: nothing is written, the other stays open."""
    client_id = uuid.uuid4()
    first = submit(alex_in_program, "GAD-7", GAD7_TWOS, start, client_id=client_id)
    other = QuestionnaireAssignment.objects.create(
        enrollment=alex_in_program,
        instrument="GAD-7",
        occasion=Occasion.PROGRAM_STEP,
        sequence=500,
        due_from=start,
        overdue_after=start + timedelta(days=1),
        closes_at=start + timedelta(days=2),
        status=AssignmentStatus.PENDING,
    )
    again = submit(
        alex_in_program, "GAD-7", all_ones(7, 0), start + timedelta(minutes=1), client_id=client_id
    )
    assert again.response.pk == first.response.pk and not again.created
    assert again.response.total == 14
    other.refresh_from_db()
    assert other.status == AssignmentStatus.PENDING
    assert QuestionnaireResponse.objects.count() == 1
    assert events(alex_in_program, "questionnaire_submitted") == ["GAD-7:14"]
    assert AuditEvent.objects.filter(action="measures.submit").count() == 1


def test_a_repeat_after_the_program_ended_returns_the_first(
    alex_in_program: Enrollment, start: datetime
) -> None:
    client_id = uuid.uuid4()
    first = submit(alex_in_program, "GAD-7", GAD7_TWOS, start, client_id=client_id)
    Enrollment.objects.filter(pk=alex_in_program.pk).update(status=EnrollmentStatus.WITHDRAWN)
    ended = Enrollment.objects.get(pk=alex_in_program.pk)
    again = submit(ended, "GAD-7", GAD7_TWOS, start, client_id=client_id)
    assert again.response.pk == first.response.pk and not again.created
    with pytest.raises(ResponseInvalid) as refused:
        submit(ended, "PHQ-9", all_ones(9, 0), start)
    assert "enrollment" in refused.value.message_dict
    assert QuestionnaireResponse.objects.count() == 1


@pytest.mark.parametrize(
    ("code", "answers", "field"),
    [
        ("GAD-7", {**GAD7_TWOS, "q3": 4}, "q3"),
        ("GAD-7", {k: v for k, v in GAD7_TWOS.items() if k != "q5"}, "q5"),
        ("GAD-7", {**GAD7_TWOS, "q8": 1}, "q8"),
        ("BDI-II", GAD7_TWOS, "instrument"),
        ("PHQ-2", {"q1": 1, "q2": 1}, "instrument"),  # nothing asks for a PHQ-2
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_written(
    alex_in_program: Enrollment, start: datetime, code: str, answers: Any, field: str
) -> None:
    with pytest.raises(ResponseInvalid) as refused:
        submit(alex_in_program, code, answers, start)
    assert field in refused.value.message_dict
    assert refused.value.crisis_resources is None
    nothing_written(alex_in_program)
    assert (
        QuestionnaireAssignment.objects.filter(
            enrollment=alex_in_program, status=AssignmentStatus.COMPLETED
        ).count()
        == 0
    )


def test_an_answered_questionnaire_cannot_be_answered_again(
    alex_in_program: Enrollment, start: datetime
) -> None:
    first = submit(alex_in_program, "GAD-7", GAD7_TWOS, start)
    with pytest.raises(ResponseInvalid) as not_due:
        submit(alex_in_program, "GAD-7", GAD7_TWOS, start + timedelta(minutes=5))
    assert not_due.value.message_dict["instrument"] == ["This questionnaire is not due now."]
    with pytest.raises(ResponseInvalid) as answered:
        submit(
            alex_in_program,
            "GAD-7",
            GAD7_TWOS,
            start + timedelta(minutes=5),
            assignment=first.response.assignment,
        )
    assert answered.value.message_dict["instrument"] == [
        "This questionnaire has already been answered."
    ]
    assert QuestionnaireResponse.objects.count() == 1


def test_a_questionnaire_before_its_window_or_after_it_closes_is_not_due(
    alex_in_program: Enrollment, start: datetime
) -> None:
    week1 = QuestionnaireAssignment.objects.get(
        enrollment=alex_in_program, instrument="GAD-7", occasion="weekly"
    )
    for at in (week1.due_from - timedelta(minutes=1), week1.closes_at):
        with pytest.raises(ResponseInvalid) as refused:
            submit(alex_in_program, "GAD-7", GAD7_TWOS, at, assignment=week1)
        assert "instrument" in refused.value.message_dict
    done = submit(alex_in_program, "GAD-7", GAD7_TWOS, week1.due_from, assignment=week1)
    assert done.response.assignment_id == week1.pk


def test_only_the_patient_answers(
    cast: personas.Cast, alex_in_program: Enrollment, start: datetime
) -> None:
    with pytest.raises(PermissionDenied):
        submit(alex_in_program, "GAD-7", GAD7_TWOS, start, actor=cast["therapist_maria"])
    with pytest.raises(PermissionDenied):
        submit(alex_in_program, "PHQ-9", all_ones(9, 3), start, actor=cast["therapist_maria"])
    nothing_written(alex_in_program)
    assert not SafetyEvent.objects.exists()


def test_prorating_is_allowed_only_when_asked_and_marked(
    alex_in_program: Enrollment, start: datetime
) -> None:
    answers = {**all_ones(9, 1), "q9": 0}
    del answers["q4"]
    with pytest.raises(ResponseInvalid):
        submit(alex_in_program, "PHQ-9", answers, start)
    done = submit(alex_in_program, "PHQ-9", answers, start, allow_missing=True)
    # 7 points over 8 answered items, scaled to 9 items = 7.875 -> 8, marked prorated.
    assert (done.response.total, done.response.prorated) == (8, True)
    assert done.score.missing == ["q4"]


# Safety -------------------------------------------------------------------------------


def test_item9_above_zero_stores_a_safety_event_and_returns_crisis_resources(
    cast: personas.Cast, alex_in_program: Enrollment, start: datetime
) -> None:
    from trellis.alerts.models import Alert

    answers = {**all_ones(9, 0), "q9": 1}
    done = submit(alex_in_program, "PHQ-9", answers, start)
    [event] = done.safety_events
    assert (event.item, event.value, event.rule) == ("q9", 1, "phq9_item9")
    assert event.response_id == done.response.pk
    assert done.crisis_resources is not None and "988" in done.crisis_resources
    alert = Alert.objects.get(safety_event=event)
    assert alert.assigned_to == cast["therapist_maria"]
    assert AuditEvent.objects.filter(action="measures.safety_answer").count() == 1


def test_a_safety_answer_is_kept_and_acted_on_when_the_rest_is_invalid(
    cast: personas.Cast, alex_in_program: Enrollment, start: datetime
) -> None:
    from trellis.alerts.models import Alert

    answers = {**all_ones(9, 0), "q1": 9, "q9": 2}
    with pytest.raises(ResponseInvalid) as refused:
        submit(alex_in_program, "PHQ-9", answers, start)
    assert "q1" in refused.value.message_dict
    assert refused.value.crisis_resources is not None
    assert "988" in refused.value.crisis_resources
    event = SafetyEvent.objects.get(enrollment=alex_in_program)
    assert (event.value, event.response_id) == (2, None)
    assert Alert.objects.filter(safety_event=event).count() == 1
    nothing_written(alex_in_program)


def test_a_safety_answer_of_a_refused_copy_points_at_the_response_sent_later_with_its_id(
    alex_in_program: Enrollment, start: datetime
) -> None:
    """The patient corrected the form (and their item 9 answer) and sent it again with the
    same client id: the safety event the first copy raised points at the stored response."""
    client_id = uuid.uuid4()
    with pytest.raises(ResponseInvalid):
        submit(
            alex_in_program,
            "PHQ-9",
            {**all_ones(9, 0), "q1": 9, "q9": 2},
            start,
            client_id=client_id,
        )
    done = submit(alex_in_program, "PHQ-9", all_ones(9, 0), start, client_id=client_id)
    [event] = done.safety_events
    assert (event.value, event.response_id) == (2, done.response.pk)
    assert SafetyEvent.objects.get().response_id == done.response.pk
    assert done.crisis_resources is None  # this copy's answers raised nothing new


def test_a_repeated_safety_submission_raises_one_event_and_one_alert(
    alex_in_program: Enrollment, start: datetime
) -> None:
    from trellis.alerts.models import Alert

    client_id = uuid.uuid4()
    bad = {**all_ones(9, 0), "q2": "x", "q9": 3}
    for _attempt in range(2):
        with pytest.raises(ResponseInvalid):
            submit(alex_in_program, "PHQ-9", bad, start, client_id=client_id)
    good = {**all_ones(9, 0), "q9": 3}
    done = submit(alex_in_program, "PHQ-9", good, start, client_id=client_id)
    assert SafetyEvent.objects.count() == 1 and Alert.objects.count() == 1
    assert done.safety_events[0].response_id == done.response.pk


def test_a_clinic_with_a_custom_crisis_text_shows_it(
    alex_in_program: Enrollment, start: datetime
) -> None:
    org = alex_in_program.organization
    org.crisis_resources = "Call the Riverside crisis line on 555-0100, day or night."
    org.save(update_fields=["crisis_resources"])
    done = submit(alex_in_program, "PHQ-9", {**all_ones(9, 0), "q9": 1}, start)
    assert done.crisis_resources == "Call the Riverside crisis line on 555-0100, day or night."


# Clock jobs -----------------------------------------------------------------------------


def test_due_and_overdue_events_are_written_exactly_once(
    alex_in_program: Enrollment, start: datetime
) -> None:
    assert services.announce_due(start) == 3  # eHEALS and the two baselines
    assert services.announce_due(start + timedelta(minutes=5)) == 0
    assert sorted(events(alex_in_program, "questionnaire_due")) == ["GAD-7", "PHQ-9", "eHEALS"]
    submit(alex_in_program, "GAD-7", GAD7_TWOS, start + timedelta(days=1))
    three_days = start + timedelta(days=3)
    assert services.mark_overdue(three_days - timedelta(seconds=1)) == 0
    assert services.mark_overdue(three_days) == 2  # eHEALS and PHQ-9; GAD-7 was answered
    assert services.mark_overdue(three_days + timedelta(hours=1)) == 0
    assert sorted(events(alex_in_program, "questionnaire_overdue")) == ["PHQ-9", "eHEALS"]
    overdue = QuestionnaireAssignment.objects.get(
        enrollment=alex_in_program, instrument="PHQ-9", occasion="baseline"
    )
    assert overdue.status == AssignmentStatus.OVERDUE and overdue.overdue_event_written
    # Overdue is still answerable until the window closes.
    done = submit(alex_in_program, "PHQ-9", all_ones(9, 0), three_days + timedelta(hours=2))
    assert done.response.assignment_id == overdue.pk
    week1 = start + timedelta(days=7)
    # Week 1's PHQ-9 and GAD-7: both answered within the last 7 days, so not asked again.
    assert services.announce_due(week1) == 0
    week2 = start + timedelta(days=14)
    assert services.announce_due(week2) == 2  # weekly PHQ-9 and GAD-7 at 09:00 on Monday


def test_the_clock_jobs_are_registered() -> None:
    from trellis.core.periodic import jobs

    names = {job.name for job in jobs()}
    assert "trellis.measures.tasks.announce_due_questionnaires" in names
    assert "trellis.measures.tasks.mark_overdue_questionnaires" in names


# Outcomes -------------------------------------------------------------------------------


def test_outcome_needs_two_measures_and_then_follows_the_rules(
    cast: personas.Cast, alex_in_program: Enrollment, start: datetime
) -> None:
    phq9_first = {**all_ones(9, 2), "q9": 0}  # 16
    submit(alex_in_program, "PHQ-9", phq9_first, start)
    submit(alex_in_program, "GAD-7", GAD7_TWOS, start)  # 14
    assert queries.outcome_for(alex_in_program) is None
    week1 = start + timedelta(days=7)
    submit(alex_in_program, "PHQ-9", {**all_ones(9, 0), "q1": 1}, week1)  # 1
    submit(alex_in_program, "GAD-7", all_ones(7, 0), week1)  # 0
    outcome = queries.outcome_for(alex_in_program)
    assert outcome is not None
    assert outcome.recovery and outcome.reliable_improvement and outcome.reliable_recovery
    assert queries.series(alex_in_program, "PHQ-9")[0][1:] == (16, "Moderately severe")
    summary = queries.clinic_outcomes(alex_in_program.organization)
    assert summary["with_outcome"] == 1 and summary["recovery_rate"] == 1.0


def test_the_journey_unlocks_by_the_latest_score(
    alex_in_program: Enrollment, start: datetime
) -> None:
    from trellis.journey.queries import latest_scores

    assert latest_scores(alex_in_program) == {}
    submit(alex_in_program, "GAD-7", GAD7_TWOS, start)
    assert latest_scores(alex_in_program) == {"GAD-7": 14.0}


# Questionnaire steps of a program -------------------------------------------------------


def test_a_questionnaire_step_is_answered_through_measures(
    alex_in_program: Enrollment, start: datetime
) -> None:
    from trellis.journey import services as journey
    from trellis.programs.models import Step

    steps = {s.key: s for s in Step.objects.filter(version=alex_in_program.program_version)}
    before = {
        "what-stress-does": {},
        "slow-breathing": {"minutes": 5, "breaths": 30},
        "first-thoughts": {
            "situation": "Waiting for the bus in the rain",
            "automatic_thought": "I'll be late and everyone will be annoyed",
            "emotion": "worry",
            "intensity_before": 70,
            "evidence_for": "The bus is late",
            "evidence_against": "I left early",
            "balanced_thought": "I may be a few minutes late, and that is fine",
            "intensity_after": 40,
        },
    }
    for key, answer in before.items():
        journey.complete_step(
            alex_in_program,
            steps[key],
            actor=alex_in_program.patient,
            client_id=uuid.uuid4(),
            response=answer,
            duration_s=60,
            now=start,
        )
    step = steps["weekly-check"]
    progress = journey.complete_step(
        alex_in_program,
        step,
        actor=alex_in_program.patient,
        client_id=uuid.uuid4(),
        response={"answers": GAD7_TWOS},
        duration_s=120,
        now=start,
    )
    assert progress.response["total"] == 14
    response = QuestionnaireResponse.objects.get(pk=progress.response["questionnaire_response"])
    assert response.assignment.occasion == "program_step"
    assert response.assignment.step_id == step.pk
    assert events(alex_in_program, "step_completed")[-1] == "14"


def test_a_questionnaire_step_with_item9_raises_the_alert_even_if_refused(
    alex_in_program: Enrollment, start: datetime
) -> None:
    from trellis.journey import services as journey
    from trellis.programs.models import Step, StepKind

    first = Step.objects.get(version=alex_in_program.program_version, key="weekly-check")
    step = Step.objects.create(  # a PHQ-9 check-in added to the test program for this test
        version=first.version,
        chapter=first.chapter,
        key="phq9-check",
        position=99,
        kind=StepKind.QUESTIONNAIRE,
        title="How has your mood been?",
        minutes=3,
        instrument="PHQ-9",
        unlock={"after": "what-stress-does"},
    )
    journey.complete_step(
        alex_in_program,
        Step.objects.get(version=first.version, key="what-stress-does"),
        actor=alex_in_program.patient,
        client_id=uuid.uuid4(),
        response={},
        duration_s=60,
        now=start,
    )
    with pytest.raises(ResponseInvalid) as refused:
        journey.complete_step(
            alex_in_program,
            step,
            actor=alex_in_program.patient,
            client_id=uuid.uuid4(),
            response={"answers": {"q9": 2}},
            duration_s=None,
            now=start,
        )
    assert refused.value.crisis_resources
    assert SafetyEvent.objects.filter(enrollment=alex_in_program, value=2).count() == 1
    nothing_written(alex_in_program)


def test_a_coached_patient_without_a_therapist_still_gets_an_alert(
    cast: personas.Cast, start: datetime
) -> None:
    from trellis.alerts.models import Alert
    from trellis.journey.tests.factories import publish_test_pack
    from trellis.onboarding.services import enroll_patient as enroll

    enrollment = enroll(
        patient=cast["patient_blair"],
        program_version=publish_test_pack(),
        support_level=SupportLevel.SELF_GUIDED,
        actor=cast["therapist_maria"],
        now=start,
    )
    done = submit(enrollment, "PHQ-9", {**all_ones(9, 0), "q9": 1}, start)
    assert done.crisis_resources
    alert = Alert.objects.get(safety_event=done.safety_events[0])
    assert alert.assigned_to is not None
