"""Questionnaires: planning them for an enrollment, taking a patient's answers, and the
clock jobs that say when one is due or overdue.

Every function is one thing a person or a job does, in one transaction with its audit row
and its engagement event. One exception is deliberate: answers that fire a safety rule
(PHQ-9 item 9 above 0) are stored and acted on in their own transaction before anything
else is checked, so a safety answer is never lost because another answer was invalid.
"""

from __future__ import annotations

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
    Inserts,
    columns,
    flagged_rows_from,
    insert_statement,
    inserted,
    rows_from,
    rows_where,
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
    try:
        submitted = _store(
            enrollment,
            instrument_code,
            actor=actor,
            answers=answers,
            key=key,
            now=now,
            assignment=assignment,
            step=step,
            allow_missing=allow_missing,
        )
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


def _find_assignment(
    enrollment: Enrollment,
    instrument: Instrument,
    *,
    now: datetime,
    assignment: QuestionnaireAssignment | None,
    step: Any,
) -> QuestionnaireAssignment:
    mine = QuestionnaireAssignment.objects.select_for_update().filter(enrollment=enrollment)
    if assignment is not None:
        found = mine.filter(pk=assignment.pk, instrument=instrument.code).first()
        if found is None:
            raise ValidationError(
                {"assignment_id": _("This questionnaire is not one of yours to answer.")}
            )
    elif step is not None:
        found, _created = mine.get_or_create(
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
    else:
        found = _earliest_open(enrollment, instrument.code, now=now)
        if found is None:
            raise _not_due()
    if found.status == AssignmentStatus.COMPLETED:
        raise ValidationError({"instrument": _("This questionnaire has already been answered.")})
    if found.status not in OPEN or not found.due_from <= now < found.closes_at:
        raise _not_due()
    return found


@transaction.atomic
def _store(
    enrollment: Enrollment,
    instrument_code: str,
    *,
    actor: Any,
    answers: Any,
    key: uuid.UUID,
    now: datetime,
    assignment: QuestionnaireAssignment | None,
    step: Any,
    allow_missing: bool,
) -> Submitted:
    """Store a response once its client id is known: a repeat returns the first result,
    anything else is checked and stored with its score, event and audit row.

    The enrollment row is locked first, so two copies of one submission are told apart
    here (the second waits, then finds the first), and its status is read under the lock.
    A repeat is found where it shows: the response's INSERT finds the first one's client id
    taken (and writes nothing), or a check refuses it (the questionnaire is answered, the
    program has ended since); then the first result is returned. A first submission costs
    no look-up for a repeat.
    """
    status = _locked_status(enrollment)
    try:
        instrument = _instrument(instrument_code)
        cleaned, errors = validate_answers(instrument, answers, allow_missing=allow_missing)
        if errors:
            raise ValidationError(errors)
        found = _find_assignment(enrollment, instrument, now=now, assignment=assignment, step=step)
        if status != EnrollmentStatus.ACTIVE and not (
            status == EnrollmentStatus.COMPLETED and found.occasion in AFTER_THE_END
        ):
            raise ValidationError(
                {"enrollment": _("This program has ended, so nothing new can be saved in it.")}
            )
    except ValidationError:
        replay = _replay(enrollment, key)
        if replay is not None:
            return replay
        raise
    result = score(instrument, cleaned)
    response = QuestionnaireResponse(
        enrollment=enrollment,
        assignment=found,
        instrument=instrument.code,
        answers=cleaned,
        total=result.total,
        prorated=result.prorated,
        band=result.band.label if result.band else "",
        submitted_at=now,
        client_id=key,
    )
    first_time, events = _insert_once(enrollment, key, response)
    if not first_time:
        replay = _replay(enrollment, key)
        assert replay is not None  # the response that took the client id stays
        return replay
    settled = _complete_and_settle(enrollment, instrument.code, found, now=now)
    together = Inserts()  # its event and audit row: one statement on PostgreSQL
    emit_with(
        together,
        enrollment,
        EventType.QUESTIONNAIRE_SUBMITTED,
        at=now,
        step=step,
        value=f"{instrument.code}:" + ("" if result.total is None else str(result.total)),
    )
    audit.record_with(
        together,
        action="measures.submit",
        actor=actor,
        subject=response,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "enrollment": str(enrollment.pk),
            "instrument": instrument.code,
            "occasion": found.occasion,
            "total": result.total,
            "prorated": result.prorated,
            "band": response.band,
            "missing": result.missing,
            "weekly_answered_by_this": settled,
        },
        at=now,
    )
    together.run()
    return Submitted(response=response, score=result, safety_events=events)


def _insert_once(
    enrollment: Enrollment, key: uuid.UUID, response: QuestionnaireResponse
) -> tuple[bool, list[SafetyEvent]]:
    """Insert the response unless its client id is already taken (a repeat: then nothing is
    written and False returned), and point the safety events its answers raised at it.

    On PostgreSQL one statement: the INSERT ... ON CONFLICT DO NOTHING, and an UPDATE of
    the client id's safety events from the row it inserted (none if it inserted none),
    returning them. A new response's client id has no response yet, so every safety
    event sent with it is still unlinked, and all of them come back. Elsewhere the INSERT,
    then `_link_safety_events`."""
    insert, params = insert_statement(response)
    r, s = QuestionnaireResponse._meta, SafetyEvent._meta
    quote = connection.ops.quote_name
    once = (
        f"{insert} ON CONFLICT ({_column(r, 'enrollment')}, {_column(r, 'client_id')}) "
        f"DO NOTHING RETURNING {_column(r, 'id')}"
    )
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(once, params)
            if cursor.fetchone() is None:
                return False, []
        inserted(response)
        return True, _link_safety_events(enrollment, key, response)
    table = quote(s.db_table)
    returned = ", ".join(f"{table}.{quote(str(f.column))}" for f in s.concrete_fields)
    sql = (
        f"WITH new_response AS ({once}), linked AS ("  # noqa: S608 (names from the models)
        f"UPDATE {table} SET {_column(s, 'response_id')} = new_response.{_column(r, 'id')} "
        f"FROM new_response WHERE {table}.{_column(s, 'enrollment')} = %s "
        f"AND {table}.{_column(s, 'client_id')} = %s "
        f"AND {table}.{_column(s, 'response_id')} IS NULL RETURNING {returned}) "
        f"SELECT EXISTS (SELECT 1 FROM new_response), linked.* "
        f"FROM (SELECT 1) AS one LEFT JOIN linked ON TRUE"
    )
    first_time, events = flagged_rows_from(
        SafetyEvent,
        sql,
        [*params, _param(s, "enrollment", enrollment.pk), _param(s, "client_id", key)],
    )
    if not first_time:
        return False, []
    inserted(response)
    events.sort(key=lambda event: event.occurred_at, reverse=True)  # newest first
    return True, events


def _link_safety_events(
    enrollment: Enrollment, key: uuid.UUID, response: QuestionnaireResponse
) -> list[SafetyEvent]:
    """The safety events this submission's answers raised (acted on before it was stored,
    by this request or an earlier copy with the same client id), now pointing at it.
    Most submissions raise none: then this is one read and nothing to write."""
    events = _safety_events(enrollment, key)
    unlinked = [event.pk for event in events if event.response_id is None]
    if unlinked:
        SafetyEvent.objects.filter(pk__in=unlinked, response_id__isnull=True).update(
            response_id=response.pk
        )
        for event in events:
            if event.response_id is None:
                event.response_id = response.pk
    return events


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


def _earliest_open(
    enrollment: Enrollment, code: str, *, now: datetime
) -> QuestionnaireAssignment | None:
    """The patient's questionnaire of this instrument that is open now and came due first,
    locked (where the database locks rows). What a submission without an assignment id
    answers; written out for the reason given in `_complete_and_settle`."""
    a = QuestionnaireAssignment._meta
    still_open = ", ".join(["%s"] * len(OPEN))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {columns(QuestionnaireAssignment)} FROM {connection.ops.quote_name(a.db_table)} "  # noqa: S608 (names from the model)
        f"WHERE {_column(a, 'enrollment')} = %s AND {_column(a, 'instrument')} = %s "
        f"AND {_column(a, 'status')} IN ({still_open}) AND {_column(a, 'due_from')} <= %s "
        f"AND {_column(a, 'closes_at')} > %s ORDER BY {_column(a, 'due_from')} LIMIT 1{lock}"
    )
    params = [
        _param(a, "enrollment", enrollment.pk),
        code,
        *[str(status) for status in OPEN],
        _param(a, "due_from", now),
        _param(a, "closes_at", now),
    ]
    found = rows_from(QuestionnaireAssignment, sql, params)
    return found[0] if found else None


def _complete_and_settle(
    enrollment: Enrollment, code: str, answered: QuestionnaireAssignment, *, now: datetime
) -> int:
    """The answered questionnaire is completed, and, one answer per window, the weekly
    questionnaires of this instrument already open in any of the patient's programs are
    answered by it, so they are no longer asked. Returns how many weekly ones it answered.

    One UPDATE for both, every patient's every answer: written out here because Django
    takes longer to build it (through the join to the patient's enrollments) than the
    database takes to run it. Names come from the models, every value is a parameter.
    On PostgreSQL the patient's enrollments are an array worked out first (`= ANY(ARRAY(
    ...))`): an `IN (SELECT ...)` inside the OR is checked row by row against every open
    questionnaire of the instrument in the clinic, where the array reads the patient's own
    through the index of open questionnaires.
    """
    in_subquery = ("= ANY(ARRAY(", "))") if connection.vendor == "postgresql" else ("IN (", ")")
    a, e = QuestionnaireAssignment._meta, Enrollment._meta
    col, prep = _column, _param
    answered_pk = prep(a, "id", answered.pk)
    weekly = ", ".join(["%s"] * len(ANSWERED_BY_A_RECENT_ONE))
    still_open = ", ".join(["%s"] * len(OPEN))
    sql = (
        f"UPDATE {connection.ops.quote_name(a.db_table)} "  # noqa: S608 (names from the models)
        f"SET {col(a, 'status')} = CASE WHEN {col(a, 'id')} = %s THEN %s ELSE %s END, "
        f"{col(a, 'updated_at')} = %s "
        f"WHERE {col(a, 'id')} = %s OR ({col(a, 'instrument')} = %s "
        f"AND {col(a, 'occasion')} IN ({weekly}) AND {col(a, 'status')} IN ({still_open}) "
        f"AND {col(a, 'due_from')} <= %s AND {col(a, 'enrollment')} {in_subquery[0]}"
        f"SELECT {col(e, 'id')} FROM {connection.ops.quote_name(e.db_table)} "
        f"WHERE {col(e, 'patient')} = %s{in_subquery[1]})"
    )
    params = [
        answered_pk,
        AssignmentStatus.COMPLETED.value,
        AssignmentStatus.CANCELLED.value,
        prep(a, "updated_at", now),
        answered_pk,
        code,
        *[str(occasion) for occasion in ANSWERED_BY_A_RECENT_ONE],
        *[str(status) for status in OPEN],
        prep(a, "due_from", now),
        prep(e, "patient", enrollment.patient_id),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        changed = cursor.rowcount
    answered.status = AssignmentStatus.COMPLETED
    answered.updated_at = now
    return changed - 1


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
