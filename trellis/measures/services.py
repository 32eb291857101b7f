"""Questionnaires: planning them for an enrollment, taking a patient's answers, and the
clock jobs that say when one is due or overdue.

Every function is one thing a person or a job does, in one transaction with its audit row
and its engagement event. One exception is deliberate: answers that fire a safety rule
(PHQ-9 item 9 above 0) are stored and acted on in their own transaction before anything
else is checked, so a safety answer is never lost because another answer was invalid.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from trellis import audit
from trellis.alerts import safety
from trellis.alerts.models import SafetyEvent
from trellis.alerts.safety import SafetyAnswer
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.care.queries import patient_zone
from trellis.core.rows import (
    ClaimedInserts,
    columns,
    constants,
    insert_statement,
    inserted,
    rows_where,
    tagged_rows_from,
)
from trellis.engagement.events import emit, emit_with
from trellis.engagement.models import EventType
from trellis.measures import schedules
from trellis.measures.models import (
    AssignmentStatus,
    Occasion,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.measures.queries import ANSWERED_BY_A_RECENT_ONE, answered_already, latest_answers
from trellis.measures.scoring import Score, safety_hits, score, validate_answers
from trellis.programs.instruments import Instrument, SafetyRule, UnknownInstrument, get_instrument

logger = logging.getLogger(__name__)

OPEN = (AssignmentStatus.PENDING, AssignmentStatus.OVERDUE)
# A finished program still asks its end-of-program and follow-up questionnaires.
AFTER_THE_END = (Occasion.END, Occasion.FOLLOW_UP)
PROGRAM_STEP_CLOSE_DAYS = 365


class ResponseInvalid(ValidationError):
    """The response was refused (nothing of it stored) with errors by field.

    If it held an answer that fired a safety rule, that answer was stored and acted on
    anyway, and `crisis_resources` is the clinic's crisis text to show at once.
    """

    def __init__(self, message: Any, *, crisis_resources: str | None = None) -> None:
        super().__init__(message)
        self.crisis_resources = crisis_resources


@dataclass
class Submitted:
    """A stored response: its score, the safety events it raised, and (when a safety rule
    fired) the clinic's crisis resources to show the patient in the same page."""

    response: QuestionnaireResponse
    score: Score
    safety_events: list[SafetyEvent] = field(default_factory=list)
    crisis_resources: str | None = None
    created: bool = True


def _as_uuid(client_id: Any) -> uuid.UUID:
    try:
        return client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError({"client_id": _("This is not a valid client id (a UUID).")}) from None


def _instrument(code: Any) -> Instrument:
    try:
        return get_instrument(code)
    except UnknownInstrument:
        raise ValidationError(
            {"instrument": _("There is no questionnaire called %(code)s.") % {"code": code}}
        ) from None


def _check_patient(enrollment: Enrollment, actor: Any) -> None:
    if actor is None or getattr(actor, "pk", None) != enrollment.patient_id:
        raise PermissionDenied(_("Only the patient answers their own questionnaires."))


def crisis_resources(enrollment: Enrollment) -> str:
    """The clinic's crisis text for this patient (its own, or the default)."""
    organization = enrollment.organization
    return safety.crisis_resources_for(organization, organization.locale)


def sent_before(enrollment: Enrollment, client_id: Any) -> bool:
    """Whether a response with this client id is already stored (a page sent twice)."""
    try:
        key = _as_uuid(client_id)
    except ValidationError:
        return False
    return QuestionnaireResponse.objects.filter(enrollment=enrollment, client_id=key).exists()


def crisis_for_submission(enrollment: Enrollment, client_id: Any) -> str | None:
    """The crisis resources to show again for a submission that raised a safety event."""
    if client_id is None:
        return None
    raised = SafetyEvent.objects.filter(enrollment=enrollment, client_id=client_id).exists()
    return crisis_resources(enrollment) if raised else None


# Planning -----------------------------------------------------------------------------


@transaction.atomic
def schedule_for_enrollment(
    enrollment: Enrollment,
    *,
    now: datetime,
    instruments: tuple[str, ...] = schedules.WEEKLY_INSTRUMENTS,
    onboarding: tuple[str, ...] = schedules.ONBOARDING_INSTRUMENTS,
) -> list[QuestionnaireAssignment]:
    """Plan an enrollment's questionnaires: eHEALS and the baseline at once, PHQ-9 and GAD-7
    weekly, at the end of the program and at a three-month follow-up.

    Windows are in the patient's time zone (their own, else the clinic's). Running it again
    adds only what is missing; windows that closed before `now` are not planned.
    """
    for code in (*instruments, *onboarding):
        _instrument(code)
    weeks = schedules.program_weeks(enrollment.program_version.intended_use)
    planned = schedules.plan(
        enrollment.started_at,
        patient_zone(enrollment),
        weeks=weeks,
        instruments=instruments,
        onboarding=onboarding,
    )
    existing = set(
        QuestionnaireAssignment.objects.filter(enrollment=enrollment).values_list(
            "instrument", "occasion", "sequence"
        )
    )
    created = [
        QuestionnaireAssignment(
            enrollment=enrollment,
            instrument=p.instrument,
            occasion=p.occasion,
            sequence=p.sequence,
            due_from=p.due_from,
            overdue_after=p.overdue_after,
            closes_at=p.closes_at,
        )
        for p in planned
        if (p.instrument, p.occasion, p.sequence) not in existing and p.closes_at > now
    ]
    QuestionnaireAssignment.objects.bulk_create(created, ignore_conflicts=True)
    if created:
        audit.record(
            action="measures.schedule",
            actor_label="questionnaire schedule",
            subject=enrollment,
            patient=enrollment.patient_id,
            organization=enrollment.organization_id,
            details={"planned": len(created), "weeks": weeks, "instruments": list(instruments)},
            at=now,
        )
    return list(QuestionnaireAssignment.objects.filter(enrollment=enrollment))


# Safety first -------------------------------------------------------------------------


# Plain words for the questions a safety rule usually watches, for the alert's reason.
# Other items are described by their own wording.
QUESTION_IN_WORDS = {
    ("PHQ-9", "q9"): "thoughts of being better off dead or of hurting yourself",
}


def safety_answer(
    instrument: Instrument, rule: SafetyRule, item_id: str, value: int
) -> SafetyAnswer:
    """One fired safety rule, in the words of the questionnaire the patient answered."""
    number = next((n for n, item in enumerate(instrument.items, 1) if item.id == item_id), None)
    item = instrument.item(item_id)
    options = (item.options if item is not None and item.options else ()) or instrument.options
    label = next((o.label for o in options if o.value == value), "")
    return SafetyAnswer(
        instrument=instrument.code,
        item=item_id,
        value=value,
        rule=rule.rule_name,
        title=instrument.short_title or instrument.title,
        number=number,
        item_text=item.text if item is not None else "",
        answer_label=label,
        description=QUESTION_IN_WORDS.get((instrument.code, item_id), ""),
    )


def record_safety_answers(
    enrollment: Enrollment,
    instrument: Instrument,
    *,
    actor: Any,
    answers: Any,
    client_id: Any,
    now: datetime,
) -> list[SafetyEvent]:
    """Store every safety event fired by `answers` and raise its urgent alert, before
    anything else about the response is checked (trellis.alerts.safety). Each answer's
    event, alert, engagement event and audit rows are written in one transaction with the
    others, which commits on its own when called outside any other transaction. A repeat
    with the same client id raises nothing new.
    """
    _check_patient(enrollment, actor)
    hits = safety_hits(instrument, answers)
    if not hits:
        return []
    key = _as_uuid(client_id)
    with transaction.atomic():
        return [
            safety.record_safety_answer(
                enrollment,
                safety_answer(instrument, rule, item_id, value),
                actor=actor,
                client_id=key,
                now=now,
            )
            for rule, item_id, value in hits
        ]


@dataclass
class SafetyFirst:
    """What acting on a submission's safety answers did, before anything else was checked.

    `client_id` is the submission's own, or a new one when it had none that could be read
    (so the page can send it back with the form, and a corrected copy raises nothing new).
    """

    client_id: uuid.UUID
    events: list[SafetyEvent]
    crisis_resources: str | None
    client_id_made: bool = False


def act_on_safety_answers(
    enrollment: Enrollment,
    instrument_code: Any,
    *,
    actor: Any,
    answers: Any,
    client_id: Any,
    now: datetime,
) -> SafetyFirst:
    """The first thing every path that takes a patient's answers does (the questionnaire
    page and API, the getting-started questionnaires, a program's questionnaire step),
    whatever else turns out to be wrong: a valid safety answer is stored, its alert raised
    and the clinic's crisis resources returned for the same response.

    It does not look at whether the questionnaire is open, the program active, the step
    unlocked or the patient's getting-started stage: those checks come after, and may still
    refuse the rest. Only answers that cannot be read (an unknown questionnaire, answers
    that are not item -> value) fire nothing. A missing or unreadable client id is
    replaced by a new one.
    """
    _check_patient(enrollment, actor)
    try:
        key, made = _as_uuid(client_id), False
    except ValidationError:
        key, made = uuid.uuid4(), True
    try:
        instrument = get_instrument(instrument_code)
    except UnknownInstrument:
        return SafetyFirst(client_id=key, events=[], crisis_resources=None, client_id_made=made)
    events = record_safety_answers(
        enrollment, instrument, actor=actor, answers=answers, client_id=key, now=now
    )
    return SafetyFirst(
        client_id=key,
        events=events,
        crisis_resources=crisis_resources(enrollment) if events else None,
        client_id_made=made,
    )


# Answering ----------------------------------------------------------------------------


def submit_response(
    enrollment: Enrollment,
    instrument_code: str,
    *,
    actor: Any,
    answers: Any,
    client_id: Any,
    now: datetime,
    assignment: QuestionnaireAssignment | None = None,
    step: Any = None,
    allow_missing: bool = False,
) -> Submitted:
    """The patient answered a questionnaire: store it with its score and complete what was due.

    - A repeat with the same client id returns the first result and writes nothing.
    - Safety answers are stored and acted on first, in their own transaction, whatever
      else is wrong (act_on_safety_answers); a refusal then carries the crisis resources.
    - Anything invalid (an answer out of range, a missing required item, an unknown
      instrument, a questionnaire that is not due or was already answered) raises
      ResponseInvalid with errors by field, and nothing else is written.
    - `step`: a questionnaire step of the program; its own assignment is made on the spot.
    """
    first = act_on_safety_answers(
        enrollment, instrument_code, actor=actor, answers=answers, client_id=client_id, now=now
    )
    crisis = first.crisis_resources
    try:
        key = _as_uuid(client_id)
    except ValidationError as error:
        raise ResponseInvalid(error.error_dict, crisis_resources=crisis) from None
    answering = _Answering(
        enrollment, instrument_code, actor, answers, key, now, assignment, step, allow_missing
    )
    try:
        submitted = _store(answering)
    except ValidationError as error:
        raise ResponseInvalid(
            error.error_dict if hasattr(error, "error_dict") else error.messages,
            crisis_resources=crisis,
        ) from None
    if submitted.created:
        submitted.crisis_resources = crisis
    return submitted


def _safety_events(enrollment: Enrollment, key: uuid.UUID) -> list[SafetyEvent]:
    """The safety events raised by the answers sent with this client id, newest first."""
    return rows_where(
        SafetyEvent, enrollment_id=enrollment.pk, client_id=key, order_by="-occurred_at"
    )


def _replay(enrollment: Enrollment, key: uuid.UUID) -> Submitted | None:
    """The first result of a submission sent again (at most one response has this key)."""
    stored = rows_where(QuestionnaireResponse, enrollment_id=enrollment.pk, client_id=key)
    if not stored:
        return None
    response = stored[0]
    instrument = get_instrument(response.instrument)
    events = _safety_events(enrollment, key)
    return Submitted(
        response=response,
        score=score(instrument, response.answers),
        safety_events=events,
        crisis_resources=crisis_resources(enrollment) if events else None,
        created=False,
    )


def _not_due() -> ValidationError:
    return ValidationError({"instrument": _("This questionnaire is not due now.")})


def _changed() -> ValidationError:
    return ValidationError(
        {"instrument": _("This questionnaire changed while it was being answered: send it again.")}
    )


@dataclass(frozen=True)
class _Answering:
    """A submission once its client id is known (`key`), as `submit_response` took it."""

    enrollment: Enrollment
    instrument_code: str
    actor: Any
    answers: Any
    key: uuid.UUID
    now: datetime
    assignment: QuestionnaireAssignment | None
    step: Any
    allow_missing: bool


def _store(answering: _Answering) -> Submitted:
    """Store a response once its client id is known: a repeat returns the first result,
    anything else is checked and stored with its score, event and audit row.

    What the response answers is read first, without locks, and checked; the write then
    goes in only if what was read still holds (the program's status, every questionnaire
    it answers still open) and the client id is new: one statement on PostgreSQL
    (`_written_if_still_due`). A client id already taken is a repeat, and gets the first
    result. Anything else (the check refused it, or something changed in between: another
    copy answered the questionnaire, the program ended, a clock job closed one) is read,
    checked and written once more with the enrollment locked, so two copies of one
    submission are told apart and the status is the one under the lock; a refusal there is
    final, unless it was a repeat after all. A step's questionnaire, made on the spot, is
    read and written under the lock from the start.
    """
    enrollment = answering.enrollment
    if answering.step is None:
        try:
            stored = _written_if_still_due(answering, status=enrollment.status)
        except ValidationError:
            stored = None  # refused as read: decided under the lock, below
        if stored is not None:
            return stored
    with transaction.atomic():
        status = _locked_status(enrollment)
        try:
            stored = _written_if_still_due(answering, status=status)
        except ValidationError:
            replay = _replay(enrollment, answering.key)
            if replay is not None:
                return replay
            raise
    if stored is None:  # only a clock job changes questionnaires under the lock, seldom
        raise _changed()
    return stored


def _written_if_still_due(answering: _Answering, *, status: str) -> Submitted | None:
    """Check the answers and what they answer, with the program's status as `status`, and
    write the response if all that still holds when it is written; a ValidationError if a
    check refuses it. The response's INSERT is the claim of a `ClaimedInserts` (its client
    id taken writes nothing); only if it goes in do its safety events point at it, the
    questionnaires it answers close, and its event and audit row follow. Returns the
    stored response, the first result for a repeat, or None if something changed."""
    enrollment, key, now, step = answering.enrollment, answering.key, answering.now, answering.step
    answers, actor = answering.answers, answering.actor
    instrument = _instrument(answering.instrument_code)
    cleaned, errors = validate_answers(instrument, answers, allow_missing=answering.allow_missing)
    if errors:
        raise ValidationError(errors)
    due = _due_now(enrollment, instrument, now=now, assignment=answering.assignment, step=step)
    if status != EnrollmentStatus.ACTIVE and not (
        status == EnrollmentStatus.COMPLETED and due.answered.occasion in AFTER_THE_END
    ):
        raise ValidationError(
            {"enrollment": _("This program has ended, so nothing new can be saved in it.")}
        )
    result = score(instrument, cleaned)
    response = QuestionnaireResponse(
        enrollment=enrollment,
        assignment=due.answered,
        instrument=instrument.code,
        answers=cleaned,
        total=result.total,
        prorated=result.prorated,
        band=result.band.label if result.band else "",
        submitted_at=now,
        client_id=key,
    )
    written = ClaimedInserts(*_response_if_still_due(response, status, due))
    written.then(*_safety_events_pointed_at(enrollment, key), returning=SafetyEvent)
    written.then(*_answered_and_settled(due, now=now))
    emit_with(
        written,
        enrollment,
        EventType.QUESTIONNAIRE_SUBMITTED,
        at=now,
        step=step,
        value=f"{instrument.code}:" + ("" if result.total is None else str(result.total)),
    )
    audit.record_with(
        written,
        action="measures.submit",
        actor=actor,
        subject=response,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "enrollment": str(enrollment.pk),
            "instrument": instrument.code,
            "occasion": due.answered.occasion,
            "total": result.total,
            "prorated": result.prorated,
            "band": response.band,
            "missing": result.missing,
            "weekly_answered_by_this": len(due.settles),
        },
        at=now,
    )
    if not written.run():
        return _replay(enrollment, key)  # None: not a repeat, so something changed
    inserted(response)
    due.answered.status = AssignmentStatus.COMPLETED
    due.answered.updated_at = now
    events = sorted(written.returned, key=lambda event: event.occurred_at, reverse=True)
    return Submitted(response=response, score=result, safety_events=events)


@dataclass
class _Due:
    """What a submission answers, and the weekly questionnaires of the same instrument,
    open in any of the patient's programs, that it answers too (one answer per window), so
    they are no longer asked."""

    answered: QuestionnaireAssignment
    settles: list[QuestionnaireAssignment]


def _due_now(
    enrollment: Enrollment,
    instrument: Instrument,
    *,
    now: datetime,
    assignment: QuestionnaireAssignment | None,
    step: Any,
) -> _Due:
    """What the submission answers (the questionnaire given, the step's own, made on the
    spot, or else the patient's questionnaire of this instrument that is open now and came
    due first), checked to be open and due, with the weekly ones it settles: one read."""
    pk = None
    if assignment is not None:
        pk = assignment.pk
    elif step is not None:
        made, _created = QuestionnaireAssignment.objects.get_or_create(
            enrollment=enrollment,
            instrument=instrument.code,
            occasion=Occasion.PROGRAM_STEP,
            sequence=step.position,
            defaults={
                "step": step,
                "due_from": now,
                "overdue_after": now + timedelta(days=PROGRAM_STEP_CLOSE_DAYS),
                "closes_at": now + timedelta(days=PROGRAM_STEP_CLOSE_DAYS),
            },
        )
        pk = made.pk
    rows = tagged_rows_from(
        QuestionnaireAssignment, *_due_statement(enrollment, instrument, now, pk)
    )
    answered = next((row for tag, row in rows if tag == 1), None)
    if answered is None:
        if assignment is not None:
            raise ValidationError(
                {"assignment_id": _("This questionnaire is not one of yours to answer.")}
            )
        raise _not_due()
    if answered.status == AssignmentStatus.COMPLETED:
        raise ValidationError({"instrument": _("This questionnaire has already been answered.")})
    if answered.status not in OPEN or not answered.due_from <= now < answered.closes_at:
        raise _not_due()
    settles = [row for tag, row in rows if tag == 0 and row.pk != answered.pk]
    return _Due(answered=answered, settles=settles)


def _due_statement(
    enrollment: Enrollment, instrument: Instrument, now: datetime, pk: Any
) -> tuple[str, list[Any]]:
    """The SELECT of `_due_now` (`_due_text`) and its values."""
    a, e = QuestionnaireAssignment._meta, Enrollment._meta
    if pk is None:
        answered = [
            _param(a, "enrollment", enrollment.pk),
            instrument.code,
            _param(a, "due_from", now),
            _param(a, "closes_at", now),
        ]
    else:
        answered = [_param(a, "id", pk), _param(a, "enrollment", enrollment.pk), instrument.code]
    weekly = [
        instrument.code,
        _param(a, "due_from", now),
        _param(e, "patient", enrollment.patient_id),
    ]
    return _due_text(connection.vendor, by_id=pk is not None), [*answered, *weekly]


@functools.cache
def _due_text(vendor: str, *, by_id: bool) -> str:
    """The questionnaire answered (by its id, or the open one of this instrument that came
    due first), tagged 1, then the weekly ones of the instrument open in any of the
    patient's programs, tagged 0.

    Written out because Django takes longer to build it (through the join to the
    patient's enrollments) than the database takes to run it, and kept: each statement
    here is made once per shape. Names come from the models; the statuses and occasions,
    the code's own, are in its text (`core.rows.constants`), every other value is a
    parameter. On PostgreSQL the patient's enrollments are an array worked out first (`=
    ANY(ARRAY(...))`): an `IN (SELECT ...)` is checked row by row against every open
    questionnaire of the instrument in the clinic, where the array reads the patient's own
    through the index of open questionnaires.
    """
    a, e = QuestionnaireAssignment._meta, Enrollment._meta
    col, quote = _column, connection.ops.quote_name
    still_open = constants(OPEN)  # in the text, as the partial index names them
    if by_id:
        answered = (
            f"{col(a, 'id')} = %s AND {col(a, 'enrollment')} = %s AND {col(a, 'instrument')} = %s"
        )
    else:
        answered = (
            f"{col(a, 'enrollment')} = %s AND {col(a, 'instrument')} = %s "
            f"AND {col(a, 'status')} IN ({still_open}) AND {col(a, 'due_from')} <= %s "
            f"AND {col(a, 'closes_at')} > %s ORDER BY {col(a, 'due_from')} LIMIT 1"
        )
    mine = ("= ANY(ARRAY(", "))") if vendor == "postgresql" else ("IN (", ")")
    table = quote(a.db_table)
    return (
        f"SELECT 1, answered.* FROM (SELECT {columns(QuestionnaireAssignment)} FROM {table} "  # noqa: S608 (names from the models)
        f"WHERE {answered}) AS answered "
        f"UNION ALL SELECT 0, {columns(QuestionnaireAssignment)} FROM {table} "
        f"WHERE {col(a, 'instrument')} = %s "
        f"AND {col(a, 'occasion')} IN ({constants(ANSWERED_BY_A_RECENT_ONE)}) "
        f"AND {col(a, 'status')} IN ({still_open}) AND {col(a, 'due_from')} <= %s "
        f"AND {col(a, 'enrollment')} {mine[0]}SELECT {col(e, 'id')} "
        f"FROM {quote(e.db_table)} WHERE {col(e, 'patient')} = %s{mine[1]}"
    )


def _response_if_still_due(
    response: QuestionnaireResponse, status: str, due: _Due
) -> tuple[str, list[Any]]:
    """The claim (`_still_due_text`) and its values."""
    a, e = QuestionnaireAssignment._meta, Enrollment._meta
    ids = [due.answered.pk, *(row.pk for row in due.settles)]
    insert, values = insert_statement(response, where="(SELECT COUNT(*) FROM still) = %s")
    sql = _still_due_text(connection.vendor, len(ids), insert)
    params = [
        _param(e, "id", response.enrollment_id),
        status,
        *[_param(a, "id", pk) for pk in ids],
        *values,
        len(ids),
    ]
    return sql, params


@functools.cache
def _still_due_text(vendor: str, count: int, insert: str) -> str:
    """The response's INSERT, which goes in only if the enrollment's status is still the
    one its checks read and each of `count` questionnaires (the one it answers, the weekly
    ones it settles) is still open, and writes nothing if its client id is taken (`ON
    CONFLICT DO NOTHING`). Where the database locks rows, the enrollment is held (`FOR
    SHARE`: the program cannot end meanwhile) before the questionnaires are locked, in the
    order of their ids."""
    r, a, e = QuestionnaireResponse._meta, QuestionnaireAssignment._meta, Enrollment._meta
    col, quote = _column, connection.ops.quote_name
    locks = connection.features.has_select_for_update_of
    table = quote(a.db_table)
    held = (
        f"held AS (SELECT {col(e, 'id')} FROM {quote(e.db_table)} "  # noqa: S608 (names from the models)
        f"WHERE {col(e, 'id')} = %s AND {col(e, 'status')} = %s{' FOR SHARE' if locks else ''})"
    )
    still = (
        f"still AS (SELECT {table}.{col(a, 'id')} FROM {table}, held "  # noqa: S608 (names from the models)
        f"WHERE {table}.{col(a, 'id')} IN ({', '.join(['%s'] * count)}) "
        f"AND {col(a, 'status')} IN ({constants(OPEN)}) ORDER BY {table}.{col(a, 'id')}"
        f"{f' FOR UPDATE OF {table}' if locks else ''})"
    )
    return (
        f"WITH {held}, {still} {insert} "
        f"ON CONFLICT ({col(r, 'enrollment')}, {col(r, 'client_id')}) "
        f"DO NOTHING RETURNING {col(r, 'id')}"
    )


def _safety_events_pointed_at(enrollment: Enrollment, key: uuid.UUID) -> tuple[str, list[Any]]:
    """After the claim (`_pointed_text`), and its values."""
    s = SafetyEvent._meta
    params = [_param(s, "enrollment", enrollment.pk), _param(s, "client_id", key)]
    return _pointed_text(connection.vendor), params


@functools.cache
def _pointed_text(vendor: str) -> str:
    """The safety events the answers sent with this client id raised (acted on before the
    response was stored, by this request or an earlier copy), pointed at the new response,
    and returned. A new response's client id has no response yet, so every one of them is
    still unlinked. Most submissions raise none."""
    r, s = QuestionnaireResponse._meta, SafetyEvent._meta
    col = _column
    table = connection.ops.quote_name(s.db_table)
    pointer = col(s, "response_id")
    return (
        f"UPDATE {table} SET {pointer} = claim.{col(r, 'id')} FROM claim "  # noqa: S608 (names from the models)
        f"WHERE {table}.{col(s, 'enrollment')} = %s AND {table}.{col(s, 'client_id')} = %s "
        f"AND {table}.{pointer} IS NULL RETURNING {columns(SafetyEvent, qualified=True)}"
    )


def _answered_and_settled(due: _Due, *, now: datetime) -> tuple[str, list[Any]]:
    """After the claim (`_settled_text`), and its values."""
    a = QuestionnaireAssignment._meta
    ids = [due.answered.pk, *(row.pk for row in due.settles)]
    params = [
        _param(a, "id", due.answered.pk),
        _param(a, "updated_at", now),
        *[_param(a, "id", pk) for pk in ids],
    ]
    return _settled_text(connection.vendor, len(ids)), params


@functools.cache
def _settled_text(vendor: str, count: int) -> str:
    """The questionnaire answered is completed, and the weekly ones it settles (`count`
    in all) are cancelled, answered by it."""
    a = QuestionnaireAssignment._meta
    col = _column
    table = connection.ops.quote_name(a.db_table)
    completed, cancelled = (
        constants([AssignmentStatus.COMPLETED]),
        constants([AssignmentStatus.CANCELLED]),
    )
    return (
        f"UPDATE {table} SET {col(a, 'status')} = CASE WHEN {table}.{col(a, 'id')} = %s "  # noqa: S608 (names from the model)
        f"THEN {completed} ELSE {cancelled} END, {col(a, 'updated_at')} = %s FROM claim "
        f"WHERE {table}.{col(a, 'id')} IN ({', '.join(['%s'] * count)})"
    )


def _column(meta: Any, name: str) -> str:
    return connection.ops.quote_name(meta.get_field(name).column)


def _param(meta: Any, name: str, value: Any) -> Any:
    return meta.get_field(name).get_db_prep_value(value, connection)


def _locked_status(enrollment: Enrollment) -> str:
    """The enrollment's status, its row locked until the end of the transaction (where the
    database locks rows): `select_for_update().values_list("status")`, written out."""
    e = Enrollment._meta
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {_column(e, 'status')} FROM {connection.ops.quote_name(e.db_table)} "  # noqa: S608 (names from the model)
        f"WHERE {_column(e, 'id')} = %s{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_param(e, "id", enrollment.pk)])
        row = cursor.fetchone()
    if row is None:
        raise Enrollment.DoesNotExist
    return str(row[0])


class _Answers:
    """The latest answers of each patient a clock job meets, read once per patient."""

    def __init__(self) -> None:
        self._latest: dict[Any, dict[str, QuestionnaireResponse]] = {}

    def already(self, assignment: QuestionnaireAssignment) -> bool:
        if assignment.occasion not in ANSWERED_BY_A_RECENT_ONE:
            return False
        patient = assignment.enrollment.patient_id
        if patient not in self._latest:
            self._latest[patient] = latest_answers(patient)
        tz = patient_zone(assignment.enrollment)
        return answered_already(assignment, self._latest[patient], tz)


def _no_longer_asked(assignment: QuestionnaireAssignment, now: datetime) -> None:
    """A scheduled questionnaire a recent answer stands for: cancelled, never announced
    or marked overdue."""
    QuestionnaireAssignment.objects.filter(pk=assignment.pk, status__in=OPEN).update(
        status=AssignmentStatus.CANCELLED, updated_at=now
    )


# Clock jobs -------------------------------------------------------------------------

_STILL_ASKED = Q(enrollment__status=EnrollmentStatus.ACTIVE) | Q(
    enrollment__status=EnrollmentStatus.COMPLETED, occasion__in=AFTER_THE_END
)


def announce_due(now: datetime) -> int:
    """Write one `questionnaire_due` event for each questionnaire whose window has opened
    (once per questionnaire, however often this runs). Returns how many were announced."""
    candidates = (
        QuestionnaireAssignment.objects.filter(
            status__in=OPEN,
            due_event_written=False,
            due_from__lte=now,
            closes_at__gt=now,
        )
        .filter(_STILL_ASKED)
        .select_related("enrollment__organization")
    )
    count = 0
    answers = _Answers()
    for assignment in candidates.iterator():
        if answers.already(assignment):
            _no_longer_asked(assignment, now)
            continue
        with transaction.atomic():
            claimed = QuestionnaireAssignment.objects.filter(
                pk=assignment.pk, due_event_written=False
            ).update(due_event_written=True, updated_at=now)
            if claimed:
                emit(
                    assignment.enrollment,
                    EventType.QUESTIONNAIRE_DUE,
                    at=now,
                    value=assignment.instrument,
                )
                count += 1
    return count


def mark_overdue(now: datetime) -> int:
    """Mark questionnaires past their `overdue_after` as overdue, writing one
    `questionnaire_overdue` event each (exactly once). Returns how many."""
    candidates = (
        QuestionnaireAssignment.objects.filter(
            status=AssignmentStatus.PENDING,
            overdue_event_written=False,
            overdue_after__lte=now,
        )
        .filter(_STILL_ASKED)
        .select_related("enrollment__organization")
    )
    count = 0
    answers = _Answers()
    for assignment in candidates.iterator():
        if answers.already(assignment):
            _no_longer_asked(assignment, now)
            continue
        with transaction.atomic():
            claimed = QuestionnaireAssignment.objects.filter(
                pk=assignment.pk, status=AssignmentStatus.PENDING, overdue_event_written=False
            ).update(status=AssignmentStatus.OVERDUE, overdue_event_written=True, updated_at=now)
            if claimed:
                emit(
                    assignment.enrollment,
                    EventType.QUESTIONNAIRE_OVERDUE,
                    at=now,
                    value=assignment.instrument,
                )
                count += 1
    return count


@transaction.atomic
def cancel_open(enrollment: Enrollment, *, now: datetime) -> int:
    """No longer ask an enrollment's unanswered questionnaires (when the program ends)."""
    return QuestionnaireAssignment.objects.filter(enrollment=enrollment, status__in=OPEN).update(
        status=AssignmentStatus.CANCELLED, updated_at=now
    )
