"""Idempotent submissions: a repeat answers like the first, also when both arrive at once."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
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
        services.check_in_mood(
            alex_enrollment,
            actor=alex_enrollment.patient,
            score=0,
            note="",
            client_id=client_id,
            now=journey_start,
        )
    services.check_in_mood(
        alex_enrollment,
        actor=alex_enrollment.patient,
        score=5,
        note="",
        client_id=client_id,
        now=journey_start,
    )
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
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait(timeout=10)
            progress = services.complete_step(
                enrollment,
                step,
                actor=enrollment.patient,
                client_id=client_id,
                response={},
                duration_s=60,
                now=journey_start,
            )
            results.append(progress.pk)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1]
    assert StepProgress.objects.filter(enrollment=enrollment).count() == 1
    assert EngagementEvent.objects.filter(type="step_completed").count() == 1
    assert Submission.objects.filter(client_id=client_id).count() == 1
