"""Idempotent submissions: a repeat answers like the first, also when both arrive at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from trellis.care.models import Enrollment
from trellis.core.testing import need_postgres
from trellis.engagement import idempotency
from trellis.engagement.models import EngagementEvent, Submission
from trellis.journey import services
from trellis.journey.models import MoodCheckIn, StepProgress


def test_the_action_runs_once_per_client_id(cast: Any) -> None:
    alex = cast["patient_alex"]
    calls: list[int] = []
    client_id = uuid.uuid4()

    def act() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    with transaction.atomic():
        first = idempotency.once(user=alex, client_id=client_id, kind="test", act=act)
        second = idempotency.once(user=alex, client_id=client_id, kind="test", act=act)
    assert first == ({"n": 1}, True)
    assert second == ({"n": 1}, False)
    assert calls == [1]


def test_a_client_id_reused_for_another_action_is_refused(cast: Any) -> None:
    alex, client_id = cast["patient_alex"], uuid.uuid4()
    with transaction.atomic():
        idempotency.once(user=alex, client_id=client_id, kind="mood", act=lambda: {})
        with pytest.raises(ValidationError, match="different action"):
            idempotency.once(user=alex, client_id=client_id, kind="journal", act=lambda: {})


def test_a_failed_action_leaves_no_claim_so_a_retry_can_succeed(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    client_id = uuid.uuid4()
    with pytest.raises(ValidationError):
        _check_in(alex_enrollment, client_id, journey_start, score=0)
    _check_in(alex_enrollment, client_id, journey_start, score=5)
    assert MoodCheckIn.objects.count() == 1


def test_a_client_id_that_is_not_a_uuid_gets_a_field_message(cast: Any) -> None:
    with transaction.atomic(), pytest.raises(ValidationError) as refused:
        idempotency.once(user=cast["patient_alex"], client_id="tap-1", kind="x", act=dict)
    assert "client_id" in refused.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_copies_of_a_completion_count_once_on_postgresql(
    cast: Any, journey_start: datetime
) -> None:
    need_postgres()
    from trellis.journey.tests.factories import enroll_alex
    from trellis.programs.models import Step

    enrollment = enroll_alex(cast, now=journey_start)
    step = Step.objects.get(version=enrollment.program_version, key="what-stress-does")
    client_id = uuid.uuid4()
    results = _twice_at_once(
        lambda: (
            services.complete_step(
                enrollment,
                step,
                actor=enrollment.patient,
                client_id=client_id,
                response={},
                duration_s=60,
                now=journey_start,
            ).pk
        )
    )
    assert len(results) == 2 and results[0] == results[1]
    assert StepProgress.objects.filter(enrollment=enrollment).count() == 1
    assert EngagementEvent.objects.filter(type="step_completed").count() == 1
    assert Submission.objects.filter(client_id=client_id).count() == 1


def _check_in(enrollment: Enrollment, client_id: Any, now: datetime, score: int = 5) -> Any:
    return services.check_in_mood(
        enrollment,
        actor=enrollment.patient,
        score=score,
        note="",
        client_id=client_id,
        now=now,
    )


def test_a_repeated_check_in_returns_the_first_and_writes_nothing(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    client_id = uuid.uuid4()
    first = _check_in(alex_enrollment, client_id, journey_start, score=5)
    events = EngagementEvent.objects.count()
    again = _check_in(alex_enrollment, client_id, journey_start, score=9)
    assert again.pk == first.pk and again.score == 5
    assert MoodCheckIn.objects.count() == 1
    assert EngagementEvent.objects.count() == events


def test_a_repeated_check_in_after_the_program_ended_returns_the_first(
    alex_enrollment: Enrollment, journey_start: datetime
) -> None:
    client_id = uuid.uuid4()
    first = _check_in(alex_enrollment, client_id, journey_start)
    Enrollment.objects.filter(pk=alex_enrollment.pk).update(status="completed")
    ended = Enrollment.objects.get(pk=alex_enrollment.pk)
    assert _check_in(ended, client_id, journey_start).pk == first.pk
    with pytest.raises(ValidationError) as refused:
        _check_in(ended, uuid.uuid4(), journey_start)
    assert "enrollment" in refused.value.message_dict
    assert MoodCheckIn.objects.count() == 1


def test_someone_else_cannot_check_in_for_the_patient(
    alex_enrollment: Enrollment, journey_start: datetime, cast: Any
) -> None:
    with pytest.raises(PermissionDenied):
        services.check_in_mood(
            alex_enrollment,
            actor=cast["therapist_maria"],
            score=5,
            note="",
            client_id=uuid.uuid4(),
            now=journey_start,
        )
    assert MoodCheckIn.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_copies_of_a_check_in_count_once_on_postgresql(
    cast: Any, journey_start: datetime
) -> None:
    need_postgres()
    from trellis.journey.tests.factories import enroll_alex

    enrollment = enroll_alex(cast, now=journey_start)
    client_id = uuid.uuid4()
    results = _twice_at_once(lambda: _check_in(enrollment, client_id, journey_start).pk)
    assert len(results) == 2 and results[0] == results[1]
    assert MoodCheckIn.objects.filter(enrollment=enrollment).count() == 1
    assert EngagementEvent.objects.filter(type="mood_checkin").count() == 1
    assert Submission.objects.filter(client_id=client_id).count() == 1


def _twice_at_once(action: Callable[[], Any]) -> list[Any]:
    """Run `action` in two threads released together, each on its own connection; their
    answers (an error in either fails the test here)."""
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(action())
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results
