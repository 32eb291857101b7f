"""The supporter's workspace as JSON (/api/v1/care/...): the caseload, a record summary,
care notes, and suggesting or deciding a change of support.

Same permissions as the pages: coaches, therapists and supervisors, within their reach
(404 outside it); patients and integration tokens get 403.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from trellis.accounts.api import session_user
from trellis.accounts.models import User
from trellis.alerts.models import AlertKind
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care import services as care_services
from trellis.care.models import EnrollmentStatus, StepChangeStatus, SteppedCareChange, SupportLevel
from trellis.care.queries import care_notes_of
from trellis.core import timeutil
from trellis.core.schemas import NOT_BLANK, OneOf, RequestBody, refusals
from trellis.measures.queries import latest_scores
from trellis.workspace import caseload as caseload_queries
from trellis.workspace import queries
from trellis.workspace.record import summary, timeline

router = Router(tags=["caseload"])


def _clinician(request: HttpRequest) -> User:
    user = session_user(request)
    if not caseload_queries.uses_caseload(user):
        raise PermissionDenied(_("The caseload is for the clinic's coaches and therapists."))
    return user


class CaseloadRowOut(Schema):
    enrollment_id: uuid.UUID
    patient_name: str
    reasons: list[str]
    last_activity: datetime | None
    waiting_since: datetime | None
    scores: dict[str, dict[str, Any]]
    chapter: str
    support_level: SupportLevel
    program: str
    open_alerts: dict[str, int]
    next_session: datetime | None
    patient_zone: str = Field(description="The patient's own time zone, else their clinic's.")


SORTS = tuple(
    param
    for column in caseload_queries.COLUMNS
    if column.key != "need"
    for param in (column.key, f"-{column.key}")
)


class CaseloadFilters(Schema):
    program: str = Field("", description="A program's slug; blank for any.")
    support_level: Annotated[str, OneOf(("", *SupportLevel.values))] = Field(
        "", description="Blank for any."
    )
    alert_kind: Annotated[str, OneOf(("", *AlertKind.values))] = Field(
        "", description="Blank for any."
    )
    supporter: str = Field("", description="Supervisors: one supporter's id; blank for all.")
    sort: Annotated[str, OneOf(("", *SORTS))] = Field(
        "",
        description="A column to order by, '-' first for descending; blank: most need first.",
    )


class CareNoteIn(RequestBody):
    body: str = Field(max_length=care_services.MAX_NOTE, json_schema_extra=NOT_BLANK)


class NoteOut(Schema):
    id: uuid.UUID
    author: str
    body: str
    written_at: datetime


class StepChangeIn(RequestBody):
    to_level: SupportLevel
    reason: str = Field(max_length=care_services.MAX_REASON, json_schema_extra=NOT_BLANK)


class DecisionIn(RequestBody):
    note: str = ""


class StepChangeOut(Schema):
    id: uuid.UUID
    enrollment_id: uuid.UUID
    from_level: SupportLevel
    to_level: SupportLevel
    reason: str
    status: StepChangeStatus
    suggested_at: datetime
    decided_at: datetime | None


class RecordOut(Schema):
    enrollment_id: uuid.UUID
    patient_name: str
    program: str
    support_level: SupportLevel
    status: EnrollmentStatus
    started_at: datetime
    latest_scores: dict[str, int]
    pending_change: StepChangeOut | None
    timeline: list[dict[str, Any]]


def _change_out(change: SteppedCareChange) -> StepChangeOut:
    return StepChangeOut(
        id=change.pk,
        enrollment_id=change.enrollment_id,
        from_level=SupportLevel(change.from_level),
        to_level=SupportLevel(change.to_level),
        reason=change.reason,
        status=StepChangeStatus(change.status),
        suggested_at=change.suggested_at,
        decided_at=change.decided_at,
    )


def _note_out(note: Any) -> NoteOut:
    return NoteOut(
        id=note.pk, author=note.author.display_name, body=note.body, written_at=note.written_at
    )


@router.get("/caseload", response={200: list[CaseloadRowOut], **refusals(401, 403, 422)})
def caseload(request: HttpRequest, filters: Query[CaseloadFilters]) -> list[CaseloadRowOut]:
    """The caller's caseload, the patient who needs them most first."""
    user = _clinician(request)
    wanted = filters.dict()
    rows = caseload_queries.caseload(
        user,
        now=timeutil.now(),
        filters=caseload_queries.Filters(**{k: v for k, v in wanted.items() if k != "sort"}),
        sort=caseload_queries.Sort.parse(wanted["sort"]),
    )
    note_read(
        actor=user,
        what=Read.CASELOAD,
        via="api",
        patients=[row.enrollment.patient_id for row in rows],
    )
    return [
        CaseloadRowOut(
            enrollment_id=row.enrollment.pk,
            patient_name=row.patient_name,
            reasons=row.reasons,
            last_activity=row.last_activity,
            waiting_since=row.waiting_since,
            scores=row.scores,
            chapter=row.chapter,
            support_level=SupportLevel(row.support_level),
            program=row.program,
            open_alerts=row.open_alerts,
            next_session=row.next_session,
            patient_zone=row.patient_zone,
        )
        for row in rows
    ]


@router.get(
    "/enrollments/{enrollment_id}/record",
    response={200: RecordOut, **refusals(401, 403, 404, 422)},
)
def record_summary(request: HttpRequest, enrollment_id: uuid.UUID) -> RecordOut:
    """A summary of one patient's record and its newest timeline entries (audited read)."""
    user = _clinician(request)
    enrollment = queries.access_patient_enrollment(user, enrollment_id)
    note_read(
        actor=user, what=Read.RECORD, via="api", patient=enrollment.patient_id, subject=enrollment
    )
    pending = summary(enrollment)["pending_change"]
    return RecordOut(
        enrollment_id=enrollment.pk,
        patient_name=enrollment.patient.full_name,
        program=enrollment.program_version.title,
        support_level=SupportLevel(enrollment.support_level),
        status=EnrollmentStatus(enrollment.status),
        started_at=enrollment.started_at,
        latest_scores=latest_scores(enrollment),
        pending_change=_change_out(pending) if pending else None,
        timeline=[
            {"at": e.at.isoformat(), "kind": e.kind, "title": e.title, "detail": e.detail}
            for e in timeline(enrollment, limit=50)
        ],
    )


@router.get(
    "/enrollments/{enrollment_id}/notes",
    response={200: list[NoteOut], **refusals(401, 403, 404, 422)},
)
def list_notes(request: HttpRequest, enrollment_id: uuid.UUID) -> list[NoteOut]:
    """The care team's notes on one enrollment, newest first."""
    user = _clinician(request)
    enrollment = queries.access_patient_enrollment(user, enrollment_id)
    note_read(
        actor=user,
        what=Read.CARE_NOTES,
        via="api",
        patient=enrollment.patient_id,
        subject=enrollment,
    )
    return [_note_out(n) for n in care_notes_of(enrollment)]


@router.post(
    "/enrollments/{enrollment_id}/notes",
    response={201: NoteOut, **refusals(400, 401, 403, 404, 422)},
)
def add_note(
    request: HttpRequest, enrollment_id: uuid.UUID, payload: CareNoteIn
) -> Status[NoteOut]:
    """Keep a care-team note (an empty note is a 422 on `body`)."""
    user = _clinician(request)
    enrollment = queries.access_patient_enrollment(user, enrollment_id)
    note = care_services.add_care_note(
        enrollment, author=user, body=payload.body, now=timeutil.now()
    )
    return Status(201, _note_out(note))


@router.post(
    "/enrollments/{enrollment_id}/step-changes",
    response={201: StepChangeOut, **refusals(400, 401, 403, 404, 422)},
)
def suggest(
    request: HttpRequest, enrollment_id: uuid.UUID, payload: StepChangeIn
) -> Status[StepChangeOut]:
    """Suggest stepping the patient's support up or down, with a reason."""
    user = _clinician(request)
    enrollment = queries.access_patient_enrollment(user, enrollment_id)
    change = care_services.suggest_step_change(
        enrollment, to_level=payload.to_level, reason=payload.reason, actor=user, now=timeutil.now()
    )
    return Status(201, _change_out(change))


def _decide(request: HttpRequest, change_id: uuid.UUID, note: str, confirm: bool) -> Any:
    user = _clinician(request)
    change = queries.access_step_change(user, change_id)
    service = care_services.confirm_step_change if confirm else care_services.decline_step_change
    return _change_out(service(change, actor=user, now=timeutil.now(), note=note))


@router.post(
    "/step-changes/{change_id}/confirm",
    response={200: StepChangeOut, **refusals(400, 401, 403, 404, 422)},
)
def confirm(request: HttpRequest, change_id: uuid.UUID, payload: DecisionIn) -> Any:
    """A therapist or supervisor confirms a suggested change (coaches: 403)."""
    return _decide(request, change_id, payload.note, confirm=True)


@router.post(
    "/step-changes/{change_id}/decline",
    response={200: StepChangeOut, **refusals(400, 401, 403, 404, 422)},
)
def decline(request: HttpRequest, change_id: uuid.UUID, payload: DecisionIn) -> Any:
    """A therapist or supervisor declines a suggested change (coaches: 403)."""
    return _decide(request, change_id, payload.note, confirm=False)
