"""Demo alerts: the demo clinic's caseload shows an alert of every kind.

Everything goes through the real services: questionnaires answered in the past through
`submit_response` (a worsening PHQ-9 with a safety answer for Alex, no improvement over
an earlier course for Emery), a message from Blair left waiting, a triage suggestion for
Casey, a missed session and a walkthrough through `raise_alert` (as the appointments
and onboarding apps raise them), and then the hourly rules (`rules.evaluate`).

Running it again creates nothing: answers and messages carry fixed client ids, raising
an alert that is still live finds the one already there, and the steps that would write
again (the earlier course, the triage suggestion) are skipped when already done.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from trellis.alerts.models import Alert, AlertKind, Severity
from trellis.alerts.services import raise_alert
from trellis.care.models import Enrollment, EnrollmentStatus, SupportLevel
from trellis.insights import rules
from trellis.measures.models import QuestionnaireAssignment
from trellis.measures.services import submit_response
from trellis.messaging.services import send_message
from trellis.onboarding.services import apply_triage, enroll_patient
from trellis.programs.models import ProgramVersion

NAMESPACE = uuid.UUID("0b6f4a8e-2c1d-4e57-9a3b-6d8e7f9a1c23")
PHQ9, GAD7 = "PHQ-9", "GAD-7"


def _client_id(*parts: Any) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def _answers(code: str, total: int, *, item9: int = 0) -> dict[str, int]:
    """Answers adding up to `total`, with PHQ-9 item 9 as given."""
    items = 8 if code == PHQ9 else 7
    values: dict[str, int] = {}
    left = total - (item9 if code == PHQ9 else 0)
    for n in range(1, items + 1):
        values[f"q{n}"] = max(0, min(3, left))
        left -= values[f"q{n}"]
    if code == PHQ9:
        values["q9"] = item9
    return values


def _answer(enrollment: Enrollment, code: str, total: int, week: int, *, item9: int = 0) -> None:
    """The patient answers the questionnaire due in `week` (0: the baseline), at the time
    it fell due; a repeat returns the first answer."""

    due = (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            instrument=code,
            due_from__gte=enrollment.started_at + timedelta(weeks=week, days=-1),
        )
        .order_by("due_from")
        .first()
    )
    if due is None:
        return
    submit_response(
        enrollment,
        code,
        actor=enrollment.patient,
        answers=_answers(code, total, item9=item9),
        client_id=_client_id(enrollment.pk, code, week),
        now=due.due_from + timedelta(hours=2),
        assignment=due,
    )


def _current(cast: Any, patient: str) -> Enrollment | None:
    return (
        Enrollment.objects.filter(patient=cast[patient], status=EnrollmentStatus.ACTIVE)
        .order_by("-started_at")
        .first()
    )


def _earlier_course(cast: Any, now: datetime) -> Enrollment | None:
    """Emery's earlier self-guided course of Better sleep, seven weeks in with no reliable
    improvement and quiet for two weeks."""

    version = (
        ProgramVersion.objects.filter(program__slug="better-sleep").order_by("-number").first()
    )
    if version is None:
        return None
    existing = Enrollment.objects.filter(
        patient=cast["patient_emery"], program_version=version, status=EnrollmentStatus.ACTIVE
    ).first()
    if existing is not None:
        return existing
    started = (now - timedelta(weeks=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    enrollment = enroll_patient(
        patient=cast["patient_emery"],
        program_version=version,
        support_level=SupportLevel.SELF_GUIDED,
        supporters=[cast["therapist_maria"]],
        actor=cast["supervisor_ruth"],
        now=started,
    )
    for week, (phq, gad) in enumerate([(14, 11), (13, 11), (14, 10)]):
        _answer(enrollment, PHQ9, phq, week * 2)
        _answer(enrollment, GAD7, gad, week * 2)
    return enrollment


def seed_supporter_workspace(cast: Any, now: datetime) -> None:
    """Give the demo caseload an alert of every kind (see the module docstring)."""

    alex = _current(cast, "patient_alex")
    if alex is not None:
        # A reliable deterioration (PHQ-9 8 → 15), and at week 1 an answer of "Several
        # days" to question 9, which raises the safety alert through the safety pathway.
        _answer(alex, PHQ9, 8, 0)
        _answer(alex, GAD7, 6, 0)
        _answer(alex, PHQ9, 15, 1, item9=1)
        _answer(alex, GAD7, 9, 1)

    blair = _current(cast, "patient_blair")
    if blair is not None:
        send_message(
            blair,
            sender=cast["patient_blair"],
            body="Hi Jordan, I'm stuck on the thought record. Can you explain the evidence part?",
            client_id=_client_id(blair.pk, "message"),
            now=now - timedelta(days=3, hours=1),
        )
        raise_alert(
            blair,
            kind=AlertKind.MISSED_SESSION,
            severity=Severity.MEDIUM,
            reason="Missed the live session booked two days ago",
            data={"when": (now - timedelta(days=2)).date().isoformat()},
            assigned_to=cast["coach_jordan"],
            now=now - timedelta(days=2),
        )

    devon = _current(cast, "patient_devon")
    if devon is not None:
        raise_alert(
            devon,
            kind=AlertKind.WALKTHROUGH,
            severity=Severity.LOW,
            reason=(
                "Their answers about using health information online suggest they may find "
                "the program hard to use. Please offer a short walkthrough."
            ),
            data={"instrument": "eHEALS", "total": 17},
            assigned_to=cast["therapist_sam"],
            now=now - timedelta(days=10),
        )

    casey = _current(cast, "patient_casey")
    if casey is not None and not Alert.objects.filter(enrollment=casey, kind="triage").exists():
        _answer(casey, PHQ9, 17, 0)
        _answer(casey, GAD7, 12, 0)
        apply_triage(casey, now=casey.started_at + timedelta(hours=3))

    _earlier_course(cast, now)
    rules.evaluate(now)
