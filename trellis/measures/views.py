"""Questionnaire pages: what is due, answering one, the result, and progress over time.

Patients answer their own questionnaires and see their own progress; staff see a
patient's progress from the clinic pages (a read of the record, audited). Views stay
thin: find the patient's enrollment or check reach, call one measures query or service,
render. Scoring, storing and the safety pathway all live in `trellis.measures.services`.

Decisions:
- A submitted questionnaire answers with the result page itself (not a redirect), so
  when a safety rule fires the crisis resources are in that very response. The result
  stays at `measures:result` for later, with the crisis resources again if they applied.
- A questionnaire that is not open (not yet due, already answered, closed, cancelled)
  is 409 with a plain reason; one outside the patient's own enrollment is 404.
- Incomplete answers are 400 with a message at each unanswered item; nothing is stored
  except a safety answer, which the service stores and acts on first. The crisis
  resources then show above the form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from trellis import audit
from trellis.accounts import guards
from trellis.accounts.models import User
from trellis.alerts.models import SafetyEvent
from trellis.care import queries as care_queries
from trellis.care.models import Enrollment, Preferences
from trellis.care.queries import current_enrollment, enrollments_for, patient_zone
from trellis.core import timeutil
from trellis.measures import charts, services
from trellis.measures.forms import QuestionnaireForm
from trellis.measures.models import (
    AssignmentStatus,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.measures.queries import due_for, outcome_for, series
from trellis.measures.services import crisis_resources
from trellis.programs.instruments import UnknownInstrument, get_instrument

CHART_INSTRUMENTS = ("PHQ-9", "GAD-7")
SOON = timedelta(days=7)


# Helpers ------------------------------------------------------------------------------


def _simple_mode(user: User) -> bool:
    return bool(
        Preferences.objects.filter(user_id=user.pk).values_list("simple_mode", flat=True).first()
    )


def _zone(enrollment: Enrollment) -> tzinfo:

    return patient_zone(enrollment)


def _patient_render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    assert isinstance(request.user, User)
    context.setdefault("simple_mode", _simple_mode(request.user))
    return render(request, template, context, status=status)


def _instrument(code: str) -> Any:

    return get_instrument(code)


def _instrument_or_none(code: str) -> Any:

    try:
        return _instrument(code)
    except UnknownInstrument:
        return None


def _own_assignment(enrollment: Enrollment, assignment_id: Any) -> QuestionnaireAssignment:
    assignment = QuestionnaireAssignment.objects.filter(
        enrollment=enrollment, pk=assignment_id
    ).first()
    if assignment is None:
        raise Http404(_("There is no such questionnaire for you."))
    return assignment


def not_open_reason(assignment: QuestionnaireAssignment, now: datetime, tz: tzinfo) -> str:
    """Why a questionnaire cannot be answered now, in plain words ("" if it can)."""
    if assignment.status == AssignmentStatus.COMPLETED:
        return _("You have already answered this questionnaire. Thank you.")
    if assignment.status == AssignmentStatus.CANCELLED:
        return _("This questionnaire is no longer needed.")
    if now < assignment.due_from:
        opens = assignment.due_from.astimezone(tz)
        return _("This questionnaire opens on %(date)s.") % {"date": _when(opens)}
    if now >= assignment.closes_at:
        return _("This questionnaire has closed. Your care team will ask again later.")
    return ""


def _when(moment: datetime) -> str:
    from django.utils.formats import date_format

    return f"{date_format(moment, 'l j F')}, {date_format(moment, 'TIME_FORMAT')}"


def _crisis_resources_for(enrollment: Enrollment) -> str:
    """The clinic's crisis resources for the patient (when showing a result again)."""

    return crisis_resources(enrollment)


@dataclass(frozen=True)
class ScoreStory:
    """A score told in plain, kind words. Never a diagnosis."""

    instrument_title: str
    total: int | None
    maximum: int | None
    prorated: bool
    band_label: str
    band_low: int | None
    band_high: int | None
    missing: int


def score_story(instrument: Any, total: int | None, band: Any, prorated: bool) -> ScoreStory:
    """What the result page says about a score."""
    band_label = str(getattr(band, "label", "") or (band if isinstance(band, str) else ""))
    low = getattr(band, "low", None)
    high = getattr(band, "high", None)
    if isinstance(band, str) and instrument is not None:
        for known in getattr(instrument, "bands", ()):
            if known.label == band:
                low, high = known.low, known.high
    maximum = _max_total(instrument)
    return ScoreStory(
        instrument_title=str(getattr(instrument, "title", "")),
        total=total,
        maximum=maximum,
        prorated=prorated,
        band_label=band_label,
        band_low=low,
        band_high=high,
        missing=0,
    )


def _max_total(instrument: Any) -> int | None:
    for name in ("max_total", "maximum", "total_max"):
        value = getattr(instrument, name, None)
        if isinstance(value, int):
            return value
    return None


def result_page(
    request: HttpRequest,
    enrollment: Enrollment,
    response: QuestionnaireResponse,
    *,
    crisis_resources: str | None,
    step: Any = None,
    status: int = 200,
) -> HttpResponse:
    """The result of a questionnaire, with the crisis resources first when they apply.
    Also the answer to a program's questionnaire step (`step`)."""
    instrument = _instrument_or_none(response.instrument)
    story = score_story(instrument, response.total, response.band, response.prorated)
    return _patient_render(
        request,
        "measures/result.html",
        {
            "response": response,
            "instrument": instrument,
            "story": story,
            "crisis_resources": crisis_resources,
            "step": step,
            "others_due": [
                a for a in _due_now(enrollment, timeutil.now()) if a.pk != response.assignment_id
            ],
        },
        status=status,
    )


def _due_now(enrollment: Enrollment, now: datetime) -> list[QuestionnaireAssignment]:

    return list(due_for(enrollment, now))


def series_by_instrument(
    enrollment: Enrollment,
) -> dict[str, Sequence[tuple[datetime, int | None, str]]]:

    return {code: list(series(enrollment, code)) for code in CHART_INSTRUMENTS}


def _outcome(enrollment: Enrollment) -> Any:

    return outcome_for(enrollment)


def _latest_bands(
    by_instrument: dict[str, Sequence[tuple[datetime, int | None, str]]],
) -> list[dict[str, Any]]:
    latest = []
    for code, points in by_instrument.items():
        scored = charts.scored_points(points)
        if scored:
            when, total, band = scored[-1]
            latest.append({"instrument": code, "total": total, "band": band, "when": when})
    return latest


# Patient pages ------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def due(request: HttpRequest) -> HttpResponse:
    """Questionnaires to answer now, and those coming up in the next week."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _patient_render(request, "measures/no_program.html", {})
    now = timeutil.now()
    tz = _zone(enrollment)
    due_now = _due_now(enrollment, now)
    soon = QuestionnaireAssignment.objects.filter(
        enrollment=enrollment,
        status=AssignmentStatus.PENDING,
        due_from__gt=now,
        due_from__lte=now + SOON,
    ).order_by("due_from")
    return _patient_render(
        request,
        "measures/due.html",
        {
            "due_now": [_row(a, tz) for a in due_now],
            "soon": [_row(a, tz) for a in soon],
        },
    )


def _row(assignment: QuestionnaireAssignment, tz: tzinfo) -> dict[str, Any]:
    instrument = _instrument_or_none(assignment.instrument)
    return {
        "assignment": assignment,
        "title": getattr(instrument, "title", assignment.instrument),
        "questions": len(getattr(instrument, "items", ()) or ()),
        "occasion": assignment.get_occasion_display(),
        "due_from": assignment.due_from.astimezone(tz),
        "overdue_after": assignment.overdue_after.astimezone(tz),
        "overdue": assignment.status == AssignmentStatus.OVERDUE,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, assignment_id: Any) -> HttpResponse:
    """Answer one questionnaire. Sending it answers with the result page."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        raise Http404(_("You are not in a program yet."))
    assignment = _own_assignment(enrollment, assignment_id)
    instrument = _instrument(assignment.instrument)
    now = timeutil.now()
    tz = _zone(enrollment)
    form = QuestionnaireForm(instrument, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        repeat = _repeat_of(enrollment, form)
        if repeat is not None:
            # The same page sent twice (a double tap, a retry): the first result stands.
            return result_page(
                request, enrollment, repeat, crisis_resources=_crisis_if_any(enrollment, repeat)
            )
    reason = not_open_reason(assignment, now, tz)
    context = {"assignment": assignment, "instrument": instrument, "form": form}
    if reason:
        done = getattr(assignment, "response", None) if assignment.status == "completed" else None
        return _patient_render(
            request,
            "measures/not_open.html",
            {**context, "reason": reason, "done_response": done},
            status=409,
        )
    if request.method == "GET":
        return _patient_render(request, "measures/answer.html", context)
    return submit_questionnaire(
        request,
        enrollment,
        instrument,
        form,
        assignment=assignment,
        now=now,
        on_success=lambda submitted: result_page(
            request,
            enrollment,
            submitted.response,
            crisis_resources=submitted.crisis_resources,
        ),
        on_invalid=lambda crisis: _patient_render(
            request,
            "measures/answer.html",
            {**context, "crisis_resources": crisis},
            status=400,
        ),
    )


def _repeat_of(enrollment: Enrollment, form: QuestionnaireForm) -> QuestionnaireResponse | None:
    client_id = form.client_id_value()
    if client_id is None:
        return None
    return QuestionnaireResponse.objects.filter(enrollment=enrollment, client_id=client_id).first()


def _crisis_if_any(enrollment: Enrollment, response: QuestionnaireResponse) -> str | None:
    if SafetyEvent.objects.filter(response_id=response.pk).exists():
        return _crisis_resources_for(enrollment)
    return None


def submit_questionnaire(
    request: HttpRequest,
    enrollment: Enrollment,
    instrument: Any,
    form: QuestionnaireForm,
    *,
    assignment: QuestionnaireAssignment | None,
    now: datetime,
    on_success: Any,
    on_invalid: Any,
    step: Any = None,
) -> HttpResponse:
    """Send the answers to the measures service and answer with `on_success(submitted)` or,
    when answers are missing or wrong, `on_invalid(crisis_resources)` (a 400 page).

    The answers go to the service even when the form found a problem, because the
    service stores a safety answer first whatever the rest looks like. Shared with the
    journey's questionnaire steps.
    """

    form.is_valid()  # ties the form's own messages to its items
    client_id = form.client_id_value()
    if client_id is None:
        return on_invalid(None)
    try:
        submitted = services.submit_response(
            enrollment,
            instrument.code,
            actor=request.user,
            answers=form.raw_answers(),
            client_id=client_id,
            now=now,
            assignment=assignment,
            step=step,
        )
    except ValidationError as problem:
        errors = problem.message_dict if hasattr(problem, "error_dict") else {}
        form.add_item_errors(errors or {"__all__": problem.messages})
        return on_invalid(getattr(problem, "crisis_resources", None))
    return on_success(submitted)


@never_cache
@login_required
@require_GET
def result(request: HttpRequest, response_id: Any) -> HttpResponse:
    """A questionnaire the patient answered, explained again."""
    user = guards.require_patient(request)
    response = (
        QuestionnaireResponse.objects.filter(enrollment__patient=user, pk=response_id)
        .select_related("enrollment__organization")
        .first()
    )
    if response is None:
        raise Http404(_("There is no such result for you."))
    return result_page(
        request,
        response.enrollment,
        response,
        crisis_resources=_crisis_if_any(response.enrollment, response),
    )


@never_cache
@login_required
@require_GET
def progress(request: HttpRequest) -> HttpResponse:
    """The patient's own progress: the chart, the same scores as a table, and how far
    they have come, in plain words."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _patient_render(request, "measures/no_program.html", {})
    tz = _zone(enrollment)
    by_instrument = series_by_instrument(enrollment)
    return _patient_render(
        request,
        "measures/progress.html",
        {
            "chart": charts.trajectory_svg(by_instrument, tz=tz, id_prefix="my-progress"),
            "rows": charts.table_rows(by_instrument, tz),
            "outcome": _outcome(enrollment),
            "latest": _latest_bands(by_instrument),
        },
    )


# Staff page ---------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def patient_progress(request: HttpRequest, patient_id: Any) -> HttpResponse:
    """A patient's scores over time and outcomes per enrollment, for their care team."""
    viewer = guards.require_staff(request)
    patient = care_queries.access_patient(viewer, patient_id)
    if patient.pk == viewer.pk:
        raise Http404(_("There is no such patient in your reach."))
    enrollments = list(enrollments_for(viewer).filter(patient=patient).order_by("-started_at"))
    sections = []
    for number, enrollment in enumerate(enrollments):
        tz = _zone(enrollment)
        by_instrument = series_by_instrument(enrollment)
        sections.append(
            {
                "enrollment": enrollment,
                "chart": charts.trajectory_svg(
                    by_instrument, tz=tz, id_prefix=f"progress-{number}"
                ),
                "rows": charts.table_rows(by_instrument, tz),
                "outcome": _outcome(enrollment),
                "latest": _latest_bands(by_instrument),
                "number": number,
                "caption_id": f"scores-caption-{number}",
            }
        )
    with transaction.atomic():
        audit.record(
            action="measures.view_progress",
            actor=viewer,
            subject=patient,
            patient=patient,
            organization=enrollments[0].organization if enrollments else None,
            details={"enrollments": [str(e.pk) for e in enrollments]},
        )
    return render(
        request,
        "measures/patient_progress.html",
        {"patient": patient, "sections": sections},
    )
