"""Questionnaire pages: what is due, answering one, the result, and progress over time.

Patients answer their own questionnaires and see their own progress; staff see a
patient's progress from the clinic pages (a read of the record, audited). Views stay
thin: find the patient's enrollment or check reach, call one measures query or service,
render. Scoring, storing and the safety pathway all live in `trellis.measures.services`.

Decisions:
- A submitted questionnaire answers with the result page itself (not a redirect), so
  when a safety rule fires the crisis resources are in that very response. The result
  stays at `measures:result` for later, with the crisis resources again if they applied.
- Safety first: a sent form's safety answers are stored and acted on before any other
  check (`safety_first`), so every refusal below shows the crisis resources when one
  fired (the table in docs/safety.md).
- A questionnaire that is not open (not yet due, already answered, closed, cancelled, or
  its program ended) is 409 with a plain reason; one that is not the patient's is 404.
- Incomplete answers, or a page without its client id, are 400 with a message at each
  unanswered item; nothing is stored except a safety answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from trellis.accounts import guards
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care import queries as care_queries
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.care.queries import current_enrollment, enrollments_for, patient_zone
from trellis.core import timeutil
from trellis.measures import charts, queries, services
from trellis.measures.forms import QuestionnaireForm
from trellis.measures.models import (
    AssignmentStatus,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.measures.queries import due_for, outcome_for, series
from trellis.measures.services import crisis_resources
from trellis.programs.instruments import Instrument, UnknownInstrument, get_instrument, localized

CHART_INSTRUMENTS = ("PHQ-9", "GAD-7")
SOON = timedelta(days=7)


# Helpers ------------------------------------------------------------------------------


def _patient_render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("simple_mode", care_queries.simple_mode_of(request.user))
    return render(request, template, context, status=status)


def _instrument_or_none(code: str) -> Instrument | None:
    try:
        return localized(get_instrument(code))
    except UnknownInstrument:
        return None


def not_open_reason(assignment: QuestionnaireAssignment, now: datetime, tz: tzinfo) -> str:
    """Why a questionnaire cannot be answered now, in plain words ("" if it can)."""
    enrollment = assignment.enrollment
    still_asked = enrollment.status == EnrollmentStatus.ACTIVE or (
        enrollment.status == EnrollmentStatus.COMPLETED
        and assignment.occasion in services.AFTER_THE_END
    )
    if assignment.status == AssignmentStatus.COMPLETED:
        return _("You have already answered this questionnaire. Thank you.")
    if not still_asked:
        return _("This program has ended, so this questionnaire can no longer be answered.")
    if assignment.status == AssignmentStatus.CANCELLED:
        return _("This questionnaire is no longer needed.")
    if now < assignment.due_from:
        opens = assignment.due_from.astimezone(tz)
        return _("This questionnaire opens on %(date)s.") % {"date": _when(opens)}
    if now >= assignment.closes_at:
        return _("This questionnaire has closed. Your care team will ask again later.")
    return ""


def _when(moment: datetime) -> str:
    day = f"{date_format(moment, 'l')} {date_format(moment, 'MONTH_DAY_FORMAT')}"
    return f"{day}, {date_format(moment, 'TIME_FORMAT')}"


def safety_first(
    request: HttpRequest, enrollment: Enrollment, instrument: Instrument, *, now: datetime
) -> tuple[QuestionnaireForm, services.SafetyFirst]:
    """The posted questionnaire form, after its safety answers were acted on.

    Every page that takes a patient's answers calls this before any other check (is the
    questionnaire open, the step unlocked, the program running, the getting-started stage
    right), so an answer about self-harm is stored, alerted and answered with the crisis
    resources whatever else refuses the rest. A form without a readable client id gets a
    new one (sent back in the form, with a message), so sending it again raises nothing new.
    """
    form = QuestionnaireForm(instrument, data=request.POST)
    first = services.act_on_safety_answers(
        enrollment,
        instrument.code,
        actor=request.user,
        answers=form.raw_answers(),
        client_id=form.client_id_value(),
        now=now,
    )
    if first.client_id_made:
        data = request.POST.copy()
        data["client_id"] = str(first.client_id)
        form = QuestionnaireForm(instrument, data=data)
        form.is_valid()
        form.add_error(
            None, _("This page was out of date. Please check your answers and send them again.")
        )
    return form, first


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
        # Band names are Trellis's words (stored in English), shown in the reader's language.
        band_label=_(band_label) if band_label else "",
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
                a for a in due_for(enrollment, timeutil.now()) if a.pk != response.assignment_id
            ],
        },
        status=status,
    )


def series_by_instrument(
    enrollment: Enrollment,
) -> dict[str, Sequence[tuple[datetime, int | None, str]]]:

    return {code: list(series(enrollment, code)) for code in CHART_INSTRUMENTS}


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
    tz = patient_zone(enrollment)
    due_now = due_for(enrollment, now)
    soon = queries.coming_up(enrollment, now, SOON)
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
    """Answer one questionnaire. Sending it answers with the result page.

    A sent form's safety answers are acted on before anything else is looked at: on a
    questionnaire that closed while the page was open, was answered in another tab, or
    belongs to a program that has ended, the crisis resources still show (with the reason
    the rest could not be saved).
    """
    user = guards.require_patient(request)
    assignment = queries.assignment_of_patient(user, assignment_id)
    if assignment is None:
        raise Http404(_("There is no such questionnaire for you."))
    enrollment = assignment.enrollment
    instrument = localized(get_instrument(assignment.instrument))
    now = timeutil.now()
    context: dict[str, Any] = {"assignment": assignment, "instrument": instrument}
    if request.method == "POST":
        form, first = safety_first(request, enrollment, instrument, now=now)
        context.update(form=form, crisis_resources=first.crisis_resources)
        repeat = (
            None
            if first.client_id_made
            else queries.response_by_client_id(enrollment, first.client_id)
        )
        if repeat is not None:
            # The same page sent twice (a double tap, a retry): the first result stands.
            return result_page(
                request, enrollment, repeat, crisis_resources=_crisis_if_any(enrollment, repeat)
            )
    else:
        context["form"] = QuestionnaireForm(instrument)
    reason = not_open_reason(assignment, now, patient_zone(enrollment))
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
        context["form"],
        first,
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


def refused_page(
    request: HttpRequest,
    instrument: Instrument,
    *,
    crisis_resources: str | None,
    reason: str,
    status: int = 409,
) -> HttpResponse:
    """A sent questionnaire whose answers could not be kept (apart from a safety answer,
    already acted on): the crisis resources first when they apply, then the reason."""
    return _patient_render(
        request,
        "measures/not_open.html",
        {"instrument": instrument, "reason": reason, "crisis_resources": crisis_resources},
        status=status,
    )


def _crisis_if_any(enrollment: Enrollment, response: QuestionnaireResponse) -> str | None:
    return crisis_resources(enrollment) if queries.raised_safety_event(response) else None


def submit_questionnaire(
    request: HttpRequest,
    enrollment: Enrollment,
    form: QuestionnaireForm,
    first: services.SafetyFirst,
    *,
    assignment: QuestionnaireAssignment | None,
    now: datetime,
    on_success: Callable[[services.Submitted], HttpResponse],
    on_invalid: Callable[[str | None], HttpResponse],
    step: Any = None,
) -> HttpResponse:
    """Send the answers (whose safety answers `safety_first` already acted on) to the
    measures service and answer with `on_success(submitted)` or, when answers are missing
    or wrong, `on_invalid(crisis_resources)` (a 400 page). Shared with the journey's
    questionnaire steps.

    The answers go to the service even when the form found a problem: the service is the
    authority on what is wrong, and its messages are tied to the items.
    """
    form.is_valid()  # ties the form's own messages to its items
    if first.client_id_made:
        return on_invalid(first.crisis_resources)
    try:
        submitted = services.submit_response(
            enrollment,
            form.instrument.code,
            actor=request.user,
            answers=form.raw_answers(),
            client_id=first.client_id,
            now=now,
            assignment=assignment,
            step=step,
        )
    except ValidationError as problem:
        form.add_service_errors(problem)
        return on_invalid(getattr(problem, "crisis_resources", None) or first.crisis_resources)
    return on_success(submitted)


@never_cache
@login_required
@require_GET
def result(request: HttpRequest, response_id: Any) -> HttpResponse:
    """A questionnaire the patient answered, explained again."""
    user = guards.require_patient(request)
    response = queries.own_response(user, response_id)
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
    tz = patient_zone(enrollment)
    by_instrument = series_by_instrument(enrollment)
    return _patient_render(
        request,
        "measures/progress.html",
        {
            "chart": charts.trajectory_svg(by_instrument, tz=tz, id_prefix="my-progress"),
            "rows": charts.table_rows(by_instrument, tz),
            "outcome": outcome_for(enrollment),
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
        tz = patient_zone(enrollment)
        by_instrument = series_by_instrument(enrollment)
        sections.append(
            {
                "enrollment": enrollment,
                "chart": charts.trajectory_svg(
                    by_instrument, tz=tz, id_prefix=f"progress-{number}"
                ),
                "rows": charts.table_rows(by_instrument, tz),
                "outcome": outcome_for(enrollment),
                "latest": _latest_bands(by_instrument),
                "number": number,
                "caption_id": f"scores-caption-{number}",
            }
        )
    note_read(
        actor=viewer,
        what=Read.PROGRESS,
        via="page",
        patient=patient,
        subject=patient,
        organization=enrollments[0].organization if enrollments else None,
        details={"enrollments": [str(e.pk) for e in enrollments]},
    )
    return render(
        request,
        "measures/patient_progress.html",
        {"patient": patient, "sections": sections},
    )
