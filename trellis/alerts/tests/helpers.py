"""Building blocks for the safety tests: enrollments at each support level, safety events."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from trellis.alerts.models import Alert, SafetyEvent
from trellis.alerts.safety import SafetyAnswer, record_safety_answer
from trellis.alerts.services import set_on_call_clinician
from trellis.care.models import Enrollment, SupportLevel
from trellis.journey.tests.factories import publish_test_pack
from trellis.onboarding.services import enroll_patient as enroll

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


ITEM9 = SafetyAnswer(
    instrument="PHQ-9",
    item="q9",
    value=1,
    rule="phq9_item9",
    title="PHQ-9",
    number=9,
    item_text="Thoughts that you would be better off dead, or of hurting yourself",
    answer_label="Several days",
    description="thoughts of being better off dead or of hurting yourself",
)
LABELS = {1: "Several days", 2: "More than half the days", 3: "Nearly every day"}


def item9_answer(value: int = 1) -> SafetyAnswer:
    """A PHQ-9 item 9 answer above 0, in the words the measures app gives it."""
    return replace(ITEM9, value=value, answer_label=LABELS[value])


def item9_event(enrollment: Enrollment, value: int = 1, *, at: datetime = T0) -> SafetyEvent:
    """The patient answered PHQ-9 item 9 above 0 at `at`, recorded through the pathway."""
    return record_safety_answer(
        enrollment,
        item9_answer(value),
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        now=at,
    )


def item9_alert(
    enrollment: Enrollment, value: int = 1, *, at: datetime | None = None, now: datetime = T0
) -> Alert:
    """The urgent alert raised by a PHQ-9 item 9 answer above 0."""
    event = item9_event(enrollment, value, at=at or now)
    return Alert.objects.get(safety_event=event)


def clear_on_call(cast: Any, clinic: str, team: str) -> None:
    set_on_call_clinician(cast.teams[(clinic, team)], clinician=None, actor=None)
