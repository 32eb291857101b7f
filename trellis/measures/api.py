"""Questionnaires as JSON: what is due, answering one, scores over time, the outcome, and the
list of installed instruments.

A patient answers their own questionnaires. Their supporters (and the clinic's supervisors)
may read what is due, the scores and the outcome of enrollments in their reach, never
answer. Integration tokens get 403. Anything outside the caller's reach is 404.

Answering carries a `client_id` (a UUID made by the app): sending the same one again
returns the first result and changes nothing. When an answer fires a safety rule (PHQ-9
item 9 above 0) the body carries `crisis_resources`, the clinic's crisis text to show at
once, also when the rest of the response was refused (422).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict

from trellis.accounts.api import session_user
from trellis.accounts.models import User
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care.models import Enrollment
from trellis.care.queries import access_enrollment, own_enrollment
from trellis.core import timeutil
from trellis.core.errors import error_list
from trellis.core.schemas import ErrorItem, ErrorOut, RequestBody, refusals, refused_without
from trellis.measures import queries, services
from trellis.measures.models import AssignmentStatus, Occasion, QuestionnaireAssignment
from trellis.programs.instruments import Instrument, all_instruments

router = Router(tags=["measures"])


class OptionOut(Schema):
    value: int
    label: str


class ItemOut(Schema):
    id: str
    text: str
    options: list[OptionOut]
    scored: bool
    required: bool
    loinc: str


class BandOut(Schema):
    low: int
    high: int
    label: str
    severity: str


class InstrumentOut(Schema):
    code: str
    title: str
    short_title: str
    measures: str
    instructions: str
    items: list[ItemOut]
    min_total: int
    max_total: int
    bands: list[BandOut]
    caseness: int | None
    reliable_change: int | None
    loinc_panel: str
    loinc_total: str
    citation: str
    licence: str

    @staticmethod
    def of(instrument: Instrument) -> InstrumentOut:
        return InstrumentOut(
            code=instrument.code,
            title=instrument.title,
            short_title=instrument.short_title,
            measures=instrument.measures,
            instructions=instrument.instructions,
            items=[
                ItemOut(
                    id=item.id,
                    text=item.text,
                    options=[
                        OptionOut(value=o.value, label=o.label)
                        for o in instrument.options_for(item)
                    ],
                    scored=item.scored,
                    required=item.required,
                    loinc=item.loinc,
                )
                for item in instrument.items
            ],
            min_total=instrument.min_total,
            max_total=instrument.max_total,
            bands=[
                BandOut(low=b.low, high=b.high, label=b.label, severity=b.severity)
                for b in instrument.bands
            ],
            caseness=instrument.caseness,
            reliable_change=instrument.reliable_change,
            loinc_panel=instrument.loinc_panel,
            loinc_total=instrument.loinc_total,
            citation=instrument.citation,
            licence=instrument.licence,
        )


class AssignmentOut(Schema):
    id: uuid.UUID
    instrument: str
    title: str
    occasion: Occasion
    sequence: int
    due_from: datetime
    overdue_after: datetime
    closes_at: datetime
    status: AssignmentStatus

    @staticmethod
    def of(assignment: QuestionnaireAssignment) -> AssignmentOut:
        instruments = all_instruments()
        found = instruments.get(assignment.instrument)
        return AssignmentOut(
            id=assignment.pk,
            instrument=assignment.instrument,
            title=found.title if found else assignment.instrument,
            occasion=Occasion(assignment.occasion),
            sequence=assignment.sequence,
            due_from=assignment.due_from,
            overdue_after=assignment.overdue_after,
            closes_at=assignment.closes_at,
            status=AssignmentStatus(assignment.status),
        )


def _installed_codes(schema: dict[str, Any]) -> None:
    """The document lists the questionnaires installed when it is read (content files)."""
    schema["enum"] = sorted(all_instruments())


class ResponseIn(RequestBody):
    # Checked by the service, not here, so a request without a readable client id still
    # has its safety answers acted on before it is refused.
    model_config = ConfigDict(json_schema_extra=refused_without("client_id"))

    client_id: str | None = Field(
        default=None,
        max_length=64,
        description="A UUID made by the app for this submission (required).",
        json_schema_extra={"format": "uuid"},
    )
    instrument: str = Field(max_length=40, json_schema_extra=_installed_codes)
    answers: dict[str, Any] = Field(description="Item id -> the chosen option's value.")
    assignment_id: uuid.UUID | None = None


class SubmittedOut(Schema):
    id: uuid.UUID
    instrument: str
    total: int | None
    prorated: bool
    band: str
    missing: list[str]
    submitted_at: datetime
    safety_rules: list[str]
    crisis_resources: str | None = None


class ResponseRefusedOut(ErrorOut):
    """A refused response; its safety answers were acted on first."""

    crisis_resources: str | None = None


class ScorePointOut(Schema):
    submitted_at: datetime
    total: int | None
    band: str


class ScoresOut(Schema):
    latest: dict[str, int]
    series: dict[str, list[ScorePointOut]]


class OutcomeOut(Schema):
    available: bool
    caseness_first: bool | None = None
    caseness_last: bool | None = None
    reliable_improvement: bool | None = None
    reliable_deterioration: bool | None = None
    recovery: bool | None = None
    reliable_recovery: bool | None = None
    first: dict[str, int] | None = None
    last: dict[str, int] | None = None


def _read(request: HttpRequest, enrollment_id: uuid.UUID, what: str) -> tuple[User, Enrollment]:
    user = session_user(request)
    enrollment = access_enrollment(user, enrollment_id)
    note_read(
        actor=user,
        what=Read.SCORES,
        via="api",
        patient=enrollment.patient_id,
        subject=enrollment,
        details={"what": what},
    )
    return user, enrollment


def _refused(error: ValidationError, crisis: str | None) -> Status[ResponseRefusedOut]:
    return Status(
        422,
        ResponseRefusedOut(
            detail=_("The request is not valid."),
            errors=[ErrorItem(**row) for row in error_list(error)],
            crisis_resources=crisis,
        ),
    )


@router.get("/instruments", response={200: list[InstrumentOut], **refusals(401, 403)})
def list_instruments(request: HttpRequest) -> list[InstrumentOut]:
    """Every installed questionnaire with its published wording, options, bands and source."""
    session_user(request)
    return [InstrumentOut.of(i) for _code, i in sorted(all_instruments().items())]


@router.get(
    "/enrollments/{enrollment_id}/due",
    response={200: list[AssignmentOut], **refusals(401, 403, 404, 422)},
)
def list_due(request: HttpRequest, enrollment_id: uuid.UUID) -> list[AssignmentOut]:
    """Questionnaires the patient can answer now (overdue ones too, until they close)."""
    _user, enrollment = _read(request, enrollment_id, "due questionnaires")
    return [AssignmentOut.of(a) for a in queries.due_for(enrollment, timeutil.now())]


@router.post(
    "/enrollments/{enrollment_id}/responses",
    response={
        200: SubmittedOut,
        201: SubmittedOut,
        422: ResponseRefusedOut,
        **refusals(400, 401, 403, 404),
    },
)
def submit_response(
    request: HttpRequest, enrollment_id: uuid.UUID, payload: ResponseIn
) -> Status[Any]:
    """Answer a questionnaire. 201 when stored, 200 for a repeat of the same client_id,
    422 with errors by item when refused (with `crisis_resources` if a safety rule fired).

    Safety first: the answers' safety rules are acted on before anything else is checked
    (the client id, the questionnaire, whether it is open, the program's status)."""
    user = session_user(request)
    # The clinic (for its crisis text) is read only if a safety rule fires.
    enrollment = own_enrollment(user, enrollment_id, related=())
    if enrollment is None:
        access_enrollment(user, enrollment_id)  # 404 outside the caller's reach
        raise HttpError(403, _("Only the patient answers their own questionnaires."))
    now = timeutil.now()
    first = services.act_on_safety_answers(
        enrollment,
        payload.instrument,
        actor=user,
        answers=payload.answers,
        client_id=payload.client_id,
        now=now,
    )
    if first.client_id_made:
        return _refused(
            ValidationError({"client_id": _("Send a client_id: a UUID made by the app.")}),
            first.crisis_resources,
        )
    assignment = None
    if payload.assignment_id is not None:
        assignment = queries.assignment_in(enrollment, payload.assignment_id)
        if assignment is None:
            return _refused(
                ValidationError({"assignment_id": _("There is no such questionnaire.")}),
                first.crisis_resources,
            )
    try:
        submitted = services.submit_response(
            enrollment,
            payload.instrument,
            actor=user,
            answers=payload.answers,
            client_id=payload.client_id,
            now=now,
            assignment=assignment,
        )
    except ValidationError as refused:
        return _refused(refused, getattr(refused, "crisis_resources", None))
    response = submitted.response
    return Status(
        201 if submitted.created else 200,
        SubmittedOut(
            id=response.pk,
            instrument=response.instrument,
            total=response.total,
            prorated=response.prorated,
            band=response.band,
            missing=submitted.score.missing,
            submitted_at=response.submitted_at,
            safety_rules=sorted({e.rule for e in submitted.safety_events}),
            crisis_resources=submitted.crisis_resources,
        ),
    )


@router.get(
    "/enrollments/{enrollment_id}/scores",
    response={200: ScoresOut, **refusals(401, 403, 404, 422)},
)
def get_scores(request: HttpRequest, enrollment_id: uuid.UUID) -> ScoresOut:
    """Each questionnaire's totals over time, and the latest total of each."""
    _user, enrollment = _read(request, enrollment_id, "scores")
    by_code: dict[str, list[ScorePointOut]] = {}
    for response in queries.responses_for(enrollment).only(
        "instrument", "submitted_at", "total", "band"
    ):
        by_code.setdefault(response.instrument, []).append(
            ScorePointOut(
                submitted_at=response.submitted_at, total=response.total, band=response.band
            )
        )
    return ScoresOut(latest=queries.latest_scores(enrollment), series=by_code)


@router.get(
    "/enrollments/{enrollment_id}/outcome",
    response={200: OutcomeOut, **refusals(401, 403, 404, 422)},
)
def get_outcome(request: HttpRequest, enrollment_id: uuid.UUID) -> OutcomeOut:
    """The NHS Talking Therapies outcome so far (needs two PHQ-9 and two GAD-7 totals)."""
    _user, enrollment = _read(request, enrollment_id, "outcome")
    outcome = queries.outcome_for(enrollment)
    if outcome is None:
        return OutcomeOut(available=False)
    return OutcomeOut(
        available=True,
        caseness_first=outcome.caseness_first,
        caseness_last=outcome.caseness_last,
        reliable_improvement=outcome.reliable_improvement,
        reliable_deterioration=outcome.reliable_deterioration,
        recovery=outcome.recovery,
        reliable_recovery=outcome.reliable_recovery,
        first=dict(outcome.first),
        last=dict(outcome.last),
    )
