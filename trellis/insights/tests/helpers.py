"""Building blocks for the safety tests: enrollments at each support level, safety events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from trellis.care.models import Enrollment, SupportLevel
from trellis.care.services import enroll
from trellis.journey.tests.factories import publish_test_pack
from trellis.measures.models import SafetyEvent

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def enroll_patient(
    cast: Any,
    patient: str,
    level: str,
    supporters: tuple[str, ...] = (),
    *,
    now: datetime = T0,
    actor_key: str = "supervisor_ruth",
) -> Enrollment:
    return enroll(
        patient=cast[patient],
        program_version=publish_test_pack(),
        support_level=level,
        supporters=[cast[s] for s in supporters],
        actor=cast[actor_key],
        now=now,
    )


def alex_with_maria(cast: Any) -> Enrollment:
    return enroll_patient(
        cast, "patient_alex", SupportLevel.THERAPIST_ASSISTED, ("therapist_maria",)
    )


def blair_coached(cast: Any) -> Enrollment:
    return enroll_patient(cast, "patient_blair", SupportLevel.COACHED, ("coach_jordan",))


def emery_self_guided(cast: Any) -> Enrollment:
    return enroll_patient(cast, "patient_emery", SupportLevel.SELF_GUIDED)


def casey_self_guided(cast: Any) -> Enrollment:
    return enroll_patient(cast, "patient_casey", SupportLevel.SELF_GUIDED)


def item9_event(enrollment: Enrollment, value: int = 1, *, at: datetime = T0) -> SafetyEvent:
    """A PHQ-9 item 9 answer above 0, as the measures app stores it."""
    return SafetyEvent.objects.create(
        enrollment=enrollment,
        instrument="PHQ-9",
        item="q9",
        value=value,
        rule="phq9_item9",
        occurred_at=at,
        client_id=uuid.uuid4(),
    )


def clear_on_call(cast: Any, clinic: str, team: str) -> None:
    from trellis.insights.services import set_on_call_clinician

    set_on_call_clinician(cast.teams[(clinic, team)], clinician=None, actor=None)
