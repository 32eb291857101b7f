"""Reading questionnaires and scores. Who may read them is decided by the caller through
trellis.care.queries.access_enrollment; these functions take an enrollment already in reach
(or, for clinic outcomes, the clinic the caller may report on)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from trellis.alerts.models import SafetyEvent
from trellis.care.models import Enrollment
from trellis.care.queries import patient_zone
from trellis.measures import schedules
from trellis.measures.models import (
    AssignmentStatus,
    Occasion,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.measures.outcomes import GAD7, PHQ9, Outcome, from_series

OPEN = (AssignmentStatus.PENDING, AssignmentStatus.OVERDUE)
# Requests that an answer given within the instrument's window stands for (see schedules).
ANSWERED_BY_A_RECENT_ONE = (Occasion.WEEKLY,)


def latest_answers(patient_id: Any) -> dict[str, QuestionnaireResponse]:
    """The patient's latest response to each instrument, in any of their programs."""
    latest: dict[str, QuestionnaireResponse] = {}
    for response in QuestionnaireResponse.objects.filter(
        enrollment__patient_id=patient_id
    ).order_by("submitted_at"):
        latest[response.instrument] = response  # in time order, so the last one wins
    return latest


def standing_answer(
    enrollment: Enrollment, instrument: str, asked_at: datetime
) -> QuestionnaireResponse | None:
    """The patient's answer to this instrument (in any of their programs) that stands for
    a request made at `asked_at`, so it need not be asked again; or None."""
    latest = (
        QuestionnaireResponse.objects.filter(
            enrollment__patient_id=enrollment.patient_id, instrument=instrument
        )
        .order_by("-submitted_at")
        .first()
    )
    if latest is None:
        return None
    tz = patient_zone(enrollment)
    return (
        latest if schedules.answer_stands(latest.submitted_at, asked_at, instrument, tz) else None
    )


def answered_already(
    assignment: QuestionnaireAssignment,
    latest: dict[str, QuestionnaireResponse],
    tz: ZoneInfo,
) -> bool:
    """Whether a scheduled questionnaire need not be asked: an answer to its instrument
    stands for it (the weekly measure only; see schedules)."""
    answer = latest.get(assignment.instrument)
    return (
        assignment.occasion in ANSWERED_BY_A_RECENT_ONE
        and answer is not None
        and answer.assignment_id != assignment.pk
        and schedules.answer_stands(
            answer.submitted_at, assignment.due_from, assignment.instrument, tz
        )
    )


def due_for(enrollment: Enrollment, now: datetime) -> list[QuestionnaireAssignment]:
    """Questionnaires the patient can answer now, the earliest first (overdue ones too,
    until their window closes). A weekly one whose instrument was answered recently (by a
    program step, or another program's schedule) is not asked again."""
    open_now = list(
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment, status__in=OPEN, due_from__lte=now, closes_at__gt=now
        ).order_by("due_from", "instrument")
    )
    if not any(a.occasion in ANSWERED_BY_A_RECENT_ONE for a in open_now):
        return open_now
    latest = latest_answers(enrollment.patient_id)
    tz = patient_zone(enrollment)
    return [a for a in open_now if not answered_already(a, latest, tz)]


def assignment_of_patient(patient: Any, pk: Any) -> QuestionnaireAssignment | None:
    """One of the patient's own questionnaires, in any of their enrollments (a finished or
    withdrawn one too: a safety answer sent to it is still acted on), or None."""
    return (
        QuestionnaireAssignment.objects.filter(enrollment__patient=patient, pk=pk)
        .select_related("enrollment__organization", "enrollment__program_version")
        .first()
    )


def assignment_in(enrollment: Enrollment, pk: Any) -> QuestionnaireAssignment | None:
    """One questionnaire of this enrollment, or None."""
    return QuestionnaireAssignment.objects.filter(enrollment=enrollment, pk=pk).first()


def response_by_client_id(enrollment: Enrollment, client_id: Any) -> QuestionnaireResponse | None:
    """The response the patient's app sent with this client id, if it was stored."""
    return QuestionnaireResponse.objects.filter(enrollment=enrollment, client_id=client_id).first()


def own_response(patient: Any, pk: Any) -> QuestionnaireResponse | None:
    """One of the patient's own questionnaire responses, or None."""
    return (
        QuestionnaireResponse.objects.filter(enrollment__patient=patient, pk=pk)
        .select_related("enrollment__organization")
        .first()
    )


def coming_up(enrollment: Enrollment, now: datetime, within: Any) -> list[QuestionnaireAssignment]:
    """Questionnaires that open within `within` from now, the soonest first."""
    return list(
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            status=AssignmentStatus.PENDING,
            due_from__gt=now,
            due_from__lte=now + within,
        ).order_by("due_from")
    )


def raised_safety_event(response: QuestionnaireResponse) -> bool:
    """Whether the response held an answer that fired a safety rule."""
    return SafetyEvent.objects.filter(response_id=response.pk).exists()


def assignments_for(enrollment: Enrollment) -> QuerySet[QuestionnaireAssignment]:
    """Every planned questionnaire of the enrollment, in due order."""
    return QuestionnaireAssignment.objects.filter(enrollment=enrollment).order_by(
        "due_from", "instrument"
    )


def responses_for(enrollment: Enrollment) -> QuerySet[QuestionnaireResponse]:
    return QuestionnaireResponse.objects.filter(enrollment=enrollment).order_by("submitted_at")


def series(enrollment: Enrollment, instrument: str) -> list[tuple[datetime, int | None, str]]:
    """(submitted at, total, band) of each response to one instrument, oldest first.
    A response too incomplete to score has total None."""
    return [
        (submitted_at, total, band)
        for submitted_at, total, band in responses_for(enrollment)
        .filter(instrument=instrument)
        .values_list("submitted_at", "total", "band")
    ]


def latest_scores(enrollment: Enrollment) -> dict[str, int]:
    """The latest total per instrument code (responses without a total are skipped)."""
    latest: dict[str, int] = {}
    for code, total in (
        responses_for(enrollment).filter(total__isnull=False).values_list("instrument", "total")
    ):
        if total is not None:
            latest[code] = total  # in time order, so the last one wins
    return latest


def outcome_for(enrollment: Enrollment) -> Outcome | None:
    """The NHS Talking Therapies outcome from the first and latest PHQ-9 and GAD-7, or None
    with fewer than two scored measures of either."""
    totals: dict[str, list[int]] = defaultdict(list)
    for code, total in (
        responses_for(enrollment)
        .filter(instrument__in=(PHQ9, GAD7), total__isnull=False)
        .values_list("instrument", "total")
    ):
        if total is not None:
            totals[code].append(total)
    return from_series(totals[PHQ9], totals[GAD7])


def clinic_outcomes(organization: Any) -> dict[str, Any]:
    """Outcome counts for every enrollment of one clinic with at least two measures.

    `recovery_rate` is recovered / (at caseness at the first measure), the national
    measure (target at least 50%); None when nobody started at caseness.
    """
    totals: dict[Any, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    rows = (
        QuestionnaireResponse.objects.filter(
            enrollment__organization=organization,
            instrument__in=(PHQ9, GAD7),
            total__isnull=False,
        )
        .order_by("enrollment_id", "submitted_at")
        .values_list("enrollment_id", "instrument", "total")
    )
    for enrollment_id, code, total in rows.iterator():
        if total is not None:
            totals[enrollment_id][code].append(total)
    counts = {
        "with_outcome": 0,
        "caseness_first": 0,
        "recovery": 0,
        "reliable_improvement": 0,
        "reliable_deterioration": 0,
        "reliable_recovery": 0,
    }
    for by_code in totals.values():
        outcome = from_series(by_code[PHQ9], by_code[GAD7])
        if outcome is None:
            continue
        counts["with_outcome"] += 1
        for name in ("caseness_first", "recovery", "reliable_improvement"):
            counts[name] += int(getattr(outcome, name))
        counts["reliable_deterioration"] += int(outcome.reliable_deterioration)
        counts["reliable_recovery"] += int(outcome.reliable_recovery)
    rate = counts["recovery"] / counts["caseness_first"] if counts["caseness_first"] else None
    return {**counts, "recovery_rate": rate}
