"""From the patient's answer to the supervisor's escalation, through the real measures service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from trellis.alerts import safety
from trellis.alerts.models import Alert, AlertKind
from trellis.alerts.tests.helpers import T0, alex_with_maria, casey_self_guided, clear_on_call
from trellis.measures.queries import due_for

pytestmark = pytest.mark.django_db

measures = pytest.importorskip("trellis.measures.services")


def _phq9(item9: int, **overrides: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {f"q{i}": 1 for i in range(1, 9)}
    answers["q9"] = item9
    answers.update(overrides)
    return answers


def _due_phq9(enrollment: Any) -> Any:

    measures.schedule_for_enrollment(enrollment, now=T0)
    due = [a for a in due_for(enrollment, T0) if a.instrument == "PHQ-9"]
    assert due, "a PHQ-9 should be due at enrollment"
    return due[0]


def test_item9_answer_of_1_shows_crisis_resources_alerts_the_therapist_and_escalates(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    enrollment = alex_with_maria(cast)
    assignment = _due_phq9(enrollment)
    with django_capture_on_commit_callbacks(execute=True):
        submitted = measures.submit_response(
            enrollment,
            "PHQ-9",
            actor=cast["patient_alex"],
            answers=_phq9(1),
            client_id=uuid.uuid4(),
            now=T0,
            assignment=assignment,
        )
    # The crisis resources are in that same response.
    assert submitted.crisis_resources is not None
    assert "988" in submitted.crisis_resources
    # The clinician's alert exists, and she was emailed.
    alert = Alert.objects.get(enrollment=enrollment, kind=AlertKind.SAFETY)
    assert alert.assigned_to == cast["therapist_maria"]
    assert alert.reason.startswith("Answered 'Several days' to PHQ-9 question 9")
    assert len(smtp.to(cast["therapist_maria"].email)) == 1
    # Nobody acknowledges it: past the limit, the supervisor has it.
    assert safety.escalate_due_alerts(T0 + timedelta(minutes=59)) == []
    with django_capture_on_commit_callbacks(execute=True):
        safety.escalate_due_alerts(T0 + timedelta(minutes=61))
    alert.refresh_from_db()
    assert alert.escalated_to == cast["supervisor_ruth"]
    assert len(smtp.to(cast["supervisor_ruth"].email)) == 1


def test_item9_answer_of_0_raises_nothing(cast: Any) -> None:
    enrollment = alex_with_maria(cast)
    submitted = measures.submit_response(
        enrollment,
        "PHQ-9",
        actor=cast["patient_alex"],
        answers=_phq9(0),
        client_id=uuid.uuid4(),
        now=T0,
        assignment=_due_phq9(enrollment),
    )
    assert submitted.crisis_resources is None
    assert not Alert.objects.filter(enrollment=enrollment).exists()


def test_patient_with_no_assigned_clinician_goes_straight_to_the_supervisor(cast: Any) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    enrollment = casey_self_guided(cast)
    submitted = measures.submit_response(
        enrollment,
        "PHQ-9",
        actor=cast["patient_casey"],
        answers=_phq9(2),
        client_id=uuid.uuid4(),
        now=T0,
        assignment=_due_phq9(enrollment),
    )
    assert submitted.crisis_resources
    alert = Alert.objects.get(enrollment=enrollment, kind=AlertKind.SAFETY)
    assert alert.assigned_to == cast["supervisor_ruth"]
    assert alert.escalated_at == T0


def test_a_safety_answer_is_acted_on_even_when_the_rest_is_invalid(cast: Any) -> None:
    from django.core.exceptions import ValidationError

    enrollment = alex_with_maria(cast)
    assignment = _due_phq9(enrollment)
    with pytest.raises(ValidationError) as error:
        measures.submit_response(
            enrollment,
            "PHQ-9",
            actor=cast["patient_alex"],
            answers=_phq9(1, q1=7),
            client_id=uuid.uuid4(),
            now=T0,
            assignment=assignment,
        )
    assert "988" in (getattr(error.value, "crisis_resources", None) or "")
    alert = Alert.objects.get(enrollment=enrollment, kind=AlertKind.SAFETY)
    assert alert.assigned_to == cast["therapist_maria"]
