"""The patient's actions: one event each, audited record writes, locks, repeats counted once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.engagement.models import EngagementEvent, Submission
from trellis.journey import services
from trellis.journey.models import JournalEntry, MoodCheckIn, StepProgress
from trellis.programs.models import Step

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


def events(enrollment: Enrollment) -> list[tuple[str, str, str]]:
    return list(
        EngagementEvent.objects.filter(enrollment=enrollment)
        .order_by("id")
        .values_list("type", "step_key", "value")
    )


def complete(enrollment: Enrollment, step: Step, at: datetime, response: Any = None, **kw: Any):
    return services.complete_step(
        enrollment,
        step,
        actor=enrollment.patient,
        client_id=kw.pop("client_id", uuid.uuid4()),
        response=response or {},
        duration_s=kw.pop("duration_s", 300),
        now=at,
    )


def test_completing_the_first_lesson_writes_one_event_and_one_audit_row(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    audits_before = AuditEvent.objects.filter(action="journey.step_complete").count()
    progress = complete(alex_enrollment, steps["what-stress-does"], journey_start, duration_s=240)
    assert progress.status == "completed"
    assert progress.duration_s == 240
    assert events(alex_enrollment) == [("step_completed", "what-stress-does", "")]
    audit_rows = AuditEvent.objects.filter(action="journey.step_complete")
    assert audit_rows.count() == audits_before + 1
    assert audit_rows.last().patient_id == alex_enrollment.patient_id  # type: ignore[union-attr]


def test_a_repeated_client_id_returns_the_first_result_and_writes_nothing(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    client_id = uuid.uuid4()
    first = complete(alex_enrollment, steps["what-stress-does"], journey_start, client_id=client_id)
    again = complete(
        alex_enrollment,
        steps["what-stress-does"],
        journey_start + timedelta(seconds=3),
        client_id=client_id,
    )
    assert again.pk == first.pk
    assert again.completed_at == first.completed_at
    assert len(events(alex_enrollment)) == 1
    assert Submission.objects.filter(client_id=client_id).count() == 1


def test_completing_a_completed_step_again_counts_once(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    first = complete(alex_enrollment, steps["what-stress-does"], journey_start)
    second = complete(
        alex_enrollment, steps["what-stress-does"], journey_start + timedelta(hours=1)
    )
    assert second.pk == first.pk
    assert second.completed_at == journey_start
    assert StepProgress.objects.filter(enrollment=alex_enrollment).count() == 1
    assert len(events(alex_enrollment)) == 1


def test_a_locked_step_cannot_be_completed_and_says_why(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    with pytest.raises(services.StepLocked, match="Opens after you finish 'Slow breathing'"):
        complete(alex_enrollment, steps["first-thoughts"], journey_start)
    assert not StepProgress.objects.filter(enrollment=alex_enrollment).exists()
    assert events(alex_enrollment) == []
    assert not Submission.objects.exists()


def test_an_exercise_answer_is_validated_and_summarised_in_the_event(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    complete(alex_enrollment, steps["what-stress-does"], journey_start)
    with pytest.raises(ValidationError) as bad:
        complete(alex_enrollment, steps["slow-breathing"], journey_start, {"breaths": "lots"})
    assert "breaths" in bad.value.message_dict
    progress = complete(alex_enrollment, steps["slow-breathing"], journey_start, BREATHING)
    assert progress.response == BREATHING
    assert events(alex_enrollment)[-1] == ("step_completed", "slow-breathing", "30")
    kinds = list(EngagementEvent.objects.values_list("step_kind", flat=True))
    assert kinds == ["lesson", "paced_breathing"]


def test_the_thought_record_is_stored_encrypted(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    from django.db import connection

    complete(alex_enrollment, steps["what-stress-does"], journey_start)
    complete(alex_enrollment, steps["slow-breathing"], journey_start, BREATHING)
    progress = complete(alex_enrollment, steps["first-thoughts"], journey_start, THOUGHT)
    assert progress.response["balanced_thought"] == THOUGHT["balanced_thought"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT response FROM journey_stepprogress WHERE id = %s", [progress.pk.hex])
        row = cursor.fetchone()
    if row is None:  # PostgreSQL stores UUIDs natively
        with connection.cursor() as cursor:
            cursor.execute("SELECT response FROM journey_stepprogress WHERE id = %s", [progress.pk])
            row = cursor.fetchone()
    assert "bus" not in str(row[0])


def test_rating_a_finished_step_writes_one_rated_event(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    step = steps["what-stress-does"]
    complete(alex_enrollment, step, journey_start)
    progress = services.rate_step(
        alex_enrollment,
        step,
        actor=alex_enrollment.patient,
        rating=4,
        client_id=uuid.uuid4(),
        now=journey_start,
    )
    assert progress.rating == 4
    assert events(alex_enrollment)[-1] == ("exercise_rated", "what-stress-does", "4")


@pytest.mark.parametrize("rating", [0, 6, 7])
def test_a_rating_outside_one_to_five_is_refused_on_the_rating_field(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime, rating: int
) -> None:
    complete(alex_enrollment, steps["what-stress-does"], journey_start)
    with pytest.raises(ValidationError) as refused:
        services.rate_step(
            alex_enrollment,
            steps["what-stress-does"],
            actor=alex_enrollment.patient,
            rating=rating,
            client_id=uuid.uuid4(),
            now=journey_start,
        )
    assert "rating" in refused.value.message_dict


def test_a_step_not_yet_done_cannot_be_rated(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    with pytest.raises(ValidationError, match="Finish the step"):
        services.rate_step(
            alex_enrollment,
            steps["what-stress-does"],
            actor=alex_enrollment.patient,
            rating=3,
            client_id=uuid.uuid4(),
            now=journey_start,
        )


def test_journal_entries_are_encrypted_private_by_default_and_counted_once(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    client_id = uuid.uuid4()
    for _ in range(2):
        entry = services.add_journal_entry(
            alex_enrollment,
            actor=alex_enrollment.patient,
            body="Today the walk helped more than I expected.",
            shared=False,
            client_id=client_id,
            now=journey_start,
        )
    assert JournalEntry.objects.count() == 1
    assert entry.shared_with_care_team is False
    assert events(alex_enrollment) == [("journal_entry", "", "8")]
    assert (
        AuditEvent.objects.filter(
            action="journal.create", patient_id=entry.enrollment.patient_id
        ).count()
        == 1
    )
    shared = services.set_journal_sharing(entry, actor=alex_enrollment.patient, shared=True)
    assert shared.shared_with_care_team is True


def test_an_over_long_journal_entry_gets_a_message_on_the_body(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.add_journal_entry(
            alex_enrollment,
            actor=alex_enrollment.patient,
            body="x" * 10_001,
            shared=False,
            client_id=uuid.uuid4(),
            now=journey_start,
        )
    assert "body" in refused.value.message_dict
    assert not JournalEntry.objects.exists()


def test_a_mood_check_in_writes_the_score_as_the_event_value(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    mood = services.check_in_mood(
        alex_enrollment,
        actor=alex_enrollment.patient,
        score=6,
        note="Tired but okay",
        client_id=uuid.uuid4(),
        now=journey_start,
    )
    assert mood.note == "Tired but okay"
    assert events(alex_enrollment) == [("mood_checkin", "", "6")]
    with pytest.raises(ValidationError) as refused:
        services.check_in_mood(
            alex_enrollment,
            actor=alex_enrollment.patient,
            score=11,
            note="",
            client_id=uuid.uuid4(),
            now=journey_start,
        )
    assert "score" in refused.value.message_dict
    assert MoodCheckIn.objects.count() == 1


def test_a_mood_check_in_and_a_journal_entry_are_dated_at_the_moment_given(
    alex_enrollment: Enrollment,
) -> None:
    two_days_ago = timeutil.now() - timedelta(days=2, hours=3)
    mood = services.check_in_mood(
        alex_enrollment,
        actor=alex_enrollment.patient,
        score=4,
        note="",
        client_id=uuid.uuid4(),
        now=two_days_ago,
    )
    entry = services.add_journal_entry(
        alex_enrollment,
        actor=alex_enrollment.patient,
        body="A quiet evening.",
        shared=True,
        client_id=uuid.uuid4(),
        now=two_days_ago,
    )
    assert mood.created_at == two_days_ago
    assert MoodCheckIn.objects.get().created_at == two_days_ago
    assert entry.created_at == two_days_ago
    assert JournalEntry.objects.get().created_at == two_days_ago
    assert set(
        EngagementEvent.objects.filter(enrollment=alex_enrollment).values_list(
            "occurred_at", flat=True
        )
    ) == {two_days_ago}


def test_a_supporter_cannot_act_in_the_patients_program(
    cast: Any, alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    with pytest.raises(PermissionDenied):
        services.complete_step(
            alex_enrollment,
            steps["what-stress-does"],
            actor=cast["therapist_maria"],
            client_id=uuid.uuid4(),
            response={},
            duration_s=None,
            now=journey_start,
        )
    assert events(alex_enrollment) == []


def test_viewing_and_starting_write_one_event_each(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime
) -> None:
    step = steps["what-stress-does"]
    services.view_step(alex_enrollment, step, actor=alex_enrollment.patient, now=journey_start)
    progress = services.start_step(
        alex_enrollment, step, actor=alex_enrollment.patient, now=journey_start
    )
    services.start_step(alex_enrollment, step, actor=alex_enrollment.patient, now=journey_start)
    assert progress.first_viewed_at == journey_start
    assert [e[0] for e in events(alex_enrollment)] == ["step_viewed", "step_started"]
    with pytest.raises(services.StepLocked):
        services.start_step(
            alex_enrollment,
            steps["slow-breathing"],
            actor=alex_enrollment.patient,
            now=journey_start,
        )


def test_sign_in_writes_a_login_event_on_the_current_enrollment(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    services.record_login(alex_enrollment.patient, now=journey_start)
    assert events(alex_enrollment) == [("login", "", "")]


def test_a_patient_signing_in_with_a_password_writes_a_login_event(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    from trellis.demo.personas import DEMO_PASSWORD
    from trellis.signin.services import sign_in_with_password

    result = sign_in_with_password(
        email=alex_enrollment.patient.email, password=DEMO_PASSWORD, now=journey_start
    )
    assert result.user == alex_enrollment.patient
    assert events(alex_enrollment) == [("login", "", "")]
    sign_in_with_password(
        email=alex_enrollment.patient.email, password="wrong password", now=journey_start
    )
    assert len(events(alex_enrollment)) == 1
