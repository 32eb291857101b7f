"""What a patient does in their program: open, start and complete steps, rate them, write in
the journal, check in their mood, sign in.

Every function is one patient action: it runs in one transaction, writes exactly one
engagement event (trellis.engagement.events.emit), and an audit row where it writes to the
patient's record. Writes from the patient app carry a client-generated id, so a repeat
(a double tap, a retry) returns the first result and writes nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import User
from trellis.care.models import Enrollment, EnrollmentStatus, Preferences
from trellis.care.queries import current_enrollment
from trellis.core import timeutil
from trellis.core.rows import ClaimedInserts, insert_row
from trellis.engagement import idempotency
from trellis.engagement.events import emit, emit_with
from trellis.engagement.models import EngagementEvent, EventType
from trellis.journey.models import JournalEntry, MoodCheckIn, ProgressStatus, StepProgress
from trellis.journey.queries import LOCKED_VIEW, StepState, step_states
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.queries import standing_answer
from trellis.measures.services import act_on_safety_answers, submit_response
from trellis.programs.exercises import EXERCISE_KINDS
from trellis.programs.models import Step, StepKind

MAX_JOURNAL = 10_000
MAX_MOOD_NOTE = 1_000
MAX_REFLECTION = 10_000
MAX_DURATION_S = 24 * 60 * 60


class StepLocked(Exception):
    """The step has not opened yet; `reason` says when it will, in the patient's words.
    `crisis_resources` is set when the refused answers held a safety answer (acted on)."""

    def __init__(self, reason: str, *, crisis_resources: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.crisis_resources = crisis_resources


def _own_active(enrollment: Enrollment, actor: Any) -> Enrollment:
    """Only the patient acts in their program, and only while it is running. Locks the
    enrollment row so one patient's writes happen one after another."""
    if actor is None or getattr(actor, "pk", None) != enrollment.patient_id:
        raise PermissionDenied(_("Only the patient can do this in their program."))
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if locked.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(
            {"enrollment": _("This program has ended, so nothing new can be saved in it.")}
        )
    return locked


def _own_running(enrollment: Enrollment, actor: Any) -> None:
    """As _own_active, on the enrollment as the caller read it, without locking it: for
    writes that only add rows of their own."""
    if actor is None or getattr(actor, "pk", None) != enrollment.patient_id:
        raise PermissionDenied(_("Only the patient can do this in their program."))
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(
            {"enrollment": _("This program has ended, so nothing new can be saved in it.")}
        )


def _check_step(enrollment: Enrollment, step: Step) -> None:
    if step.version_id != enrollment.program_version_id:
        raise ValidationError({"step": _("This step is not part of your program.")})


def _state(enrollment: Enrollment, step: Step, now: datetime) -> Any:
    return step_states(enrollment, now)[step.key]


def _first_view(enrollment: Enrollment, step: Step) -> datetime | None:
    return (
        EngagementEvent.objects.filter(
            enrollment=enrollment, step_key=step.key, type=EventType.STEP_VIEWED
        )
        .exclude(value=LOCKED_VIEW)
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


@transaction.atomic
def view_step(
    enrollment: Enrollment, step: Step, *, actor: User, now: datetime
) -> StepProgress | None:
    """The patient opened a step (one `step_viewed` event each time, also for a locked one)."""
    enrollment = _own_active(enrollment, actor)
    _check_step(enrollment, step)
    state = _state(enrollment, step, now)
    emit(
        enrollment,
        EventType.STEP_VIEWED,
        at=now,
        step=step,
        value=LOCKED_VIEW if state.status == "locked" else "",
    )
    progress = state.progress
    if progress is not None and progress.first_viewed_at is None:
        progress.first_viewed_at = now
        progress.save(update_fields=["first_viewed_at", "updated_at"])
    return progress


@transaction.atomic
def start_step(enrollment: Enrollment, step: Step, *, actor: User, now: datetime) -> StepProgress:
    """The patient began an open step (one `step_started` event the first time)."""
    enrollment = _own_active(enrollment, actor)
    _check_step(enrollment, step)
    state = _state(enrollment, step, now)
    if state.progress is not None:
        return state.progress
    if state.status == "locked":
        raise StepLocked(state.locked_reason)
    progress = StepProgress.objects.create(
        enrollment=enrollment,
        step=step,
        status=ProgressStatus.STARTED,
        first_viewed_at=_first_view(enrollment, step) or now,
        started_at=now,
    )
    emit(enrollment, EventType.STEP_STARTED, at=now, step=step)
    return progress


def _clean_response(step: Step, response: Any) -> tuple[dict[str, Any] | None, str]:
    """The answer to store and the short value for the event log."""
    if response is None:
        response = {}
    if not isinstance(response, dict):
        raise ValidationError({"response": _("The answer was not in the expected form.")})
    if step.kind == StepKind.EXERCISE:
        kind = EXERCISE_KINDS.get(step.exercise)
        if kind is None:
            raise ValidationError({"step": _("This exercise cannot be completed here.")})
        cleaned = kind.validate_response(response, step.settings or {})
        return cleaned, kind.summary(cleaned)
    if step.kind == StepKind.REFLECTION:
        text = str(response.get("text", "") or "").strip()
        if not text:
            raise ValidationError({"text": _("Please write a few words before you finish.")})
        if len(text) > MAX_REFLECTION:
            raise ValidationError(
                {"text": _("Please keep this under %(max)s characters.") % {"max": "10,000"}}
            )
        return {"text": text}, str(len(text.split()))
    # Lessons hold nothing; questionnaire answers are stored by trellis.measures.
    return None, ""


def _check_duration(duration_s: int | None) -> None:
    if duration_s is not None and not (0 <= duration_s <= MAX_DURATION_S):
        raise ValidationError({"duration_s": _("The time spent must be between 0 and 24 hours.")})


def _questionnaire_answers(response: Any) -> Any:
    """The answers of a questionnaire step: `{"answers": {...}}` or the answers themselves."""
    if isinstance(response, dict) and isinstance(response.get("answers"), dict):
        return response["answers"]
    return response


def _answer_questionnaire(
    enrollment: Enrollment,
    step: Step,
    *,
    actor: User,
    response: Any,
    client_id: uuid.UUID | str,
    now: datetime,
) -> tuple[dict[str, Any] | None, str]:
    """Store a questionnaire step's answers through trellis.measures (scored, checked, and
    safety answers acted on). Finishing with no answers at all skips the questionnaire."""

    answers = _questionnaire_answers(response)
    if not answers:
        standing = standing_answer(enrollment, step.instrument, now)
        return (_carried(standing), str(standing.total or "")) if standing else (None, "")
    submitted = submit_response(
        enrollment,
        step.instrument,
        actor=actor,
        answers=answers,
        client_id=client_id,
        now=now,
        step=step,
    )
    total = submitted.response.total
    return (
        {"questionnaire_response": str(submitted.response.pk), "total": total},
        "" if total is None else str(total),
    )


def _carried(answer: QuestionnaireResponse) -> dict[str, Any]:
    """What a questionnaire step answered by an earlier response stores."""
    return {
        "questionnaire_response": str(answer.pk),
        "total": answer.total,
        "band": answer.band,
        "answered_at": answer.submitted_at.isoformat(),
        "carried": True,
    }


def _open_questionnaire_answered(
    enrollment: Enrollment, now: datetime, states: Mapping[str, StepState] | None = None
) -> tuple[Step, StepProgress | None, QuestionnaireResponse] | None:
    """The first open questionnaire step whose instrument was answered within its window
    (in `states` when given, else in the step states worked out now)."""
    if states is None:
        states = step_states(enrollment, now)
    for state in states.values():
        step = state.step
        if state.status in ("available", "started") and step.kind == StepKind.QUESTIONNAIRE:
            standing = (
                standing_answer(enrollment, step.instrument, now) if step.instrument else None
            )
            if standing is not None:
                return step, state.progress, standing
    return None


def carry_recent_answers(
    enrollment: Enrollment,
    *,
    actor: User,
    now: datetime,
    states: Mapping[str, StepState] | None = None,
) -> list[Step]:
    """One questionnaire per window, whatever asks for it: an open questionnaire step whose
    instrument the patient answered recently (in a step, the weekly schedule or another of
    their programs; see trellis.measures.schedules) counts as done with that answer, and is
    not asked again. One `step_completed` event and an audit row for each such step.

    Nothing about safety is skipped: the answer it stands on was acted on when it was given,
    and an answer the patient gives anyway is taken and acted on like any other.

    `states`, the step states a page has just worked out for `now`, lets most visits end
    here, without a transaction or a lock: when no open questionnaire step among them has
    an answer to stand on, there is nothing to carry. When there is, the steps are read
    again under the enrollment's lock and carried from there."""
    if getattr(actor, "pk", None) != enrollment.patient_id or not enrollment.is_active:
        return []
    if states is not None and _open_questionnaire_answered(enrollment, now, states) is None:
        return []
    return _carry_recent_answers(enrollment, actor=actor, now=now)


@transaction.atomic
def _carry_recent_answers(enrollment: Enrollment, *, actor: User, now: datetime) -> list[Step]:
    locked = _own_active(enrollment, actor)
    carried: list[Step] = []
    for _round in range(20):  # a program has far fewer questionnaire steps in a row
        found = _open_questionnaire_answered(locked, now)
        if found is None:
            break
        step, progress, answer = found
        if progress is None:
            progress = StepProgress(
                enrollment=locked,
                step=step,
                first_viewed_at=_first_view(locked, step) or now,
                started_at=now,
            )
        progress.status = ProgressStatus.COMPLETED
        progress.completed_at = now
        progress.response = _carried(answer)
        progress.save()
        emit(
            locked,
            EventType.STEP_COMPLETED,
            at=now,
            step=step,
            value="" if answer.total is None else str(answer.total),
        )
        audit.record(
            action="journey.step_complete",
            actor=actor,
            subject=progress,
            patient=locked.patient_id,
            organization=locked.organization_id,
            details={
                "enrollment": str(locked.pk),
                "step": step.key,
                "answered_by": str(answer.pk),
            },
            at=now,
        )
        carried.append(step)
    return carried


def complete_step(
    enrollment: Enrollment,
    step: Step,
    *,
    actor: User,
    client_id: uuid.UUID | str,
    response: dict[str, Any] | None,
    duration_s: int | None,
    now: datetime,
) -> StepProgress:
    """The patient finished a step: store their answer and one `step_completed` event.

    A locked step raises StepLocked. A repeat with the same client id, or completing a
    step that is already completed, returns the existing progress and writes nothing.
    A questionnaire step's answers go through trellis.measures.services.submit_response;
    its safety answers are acted on first, even if the step cannot be completed.
    """
    crisis = None
    if step.kind == StepKind.QUESTIONNAIRE and step.instrument and response:
        first = act_on_safety_answers(
            enrollment,
            step.instrument,
            actor=actor,
            answers=_questionnaire_answers(response),
            client_id=client_id,
            now=now,
        )
        crisis = first.crisis_resources
        if first.client_id_made:
            refused = ValidationError({"client_id": _("This is not a valid client id (a UUID).")})
            refused.crisis_resources = crisis  # type: ignore[attr-defined]
            raise refused
    try:
        return _complete_step(
            enrollment,
            step,
            actor=actor,
            client_id=client_id,
            response=response,
            duration_s=duration_s,
            now=now,
        )
    except (StepLocked, ValidationError) as refused:
        if crisis and not getattr(refused, "crisis_resources", None):
            refused.crisis_resources = crisis  # type: ignore[union-attr]
        raise


@transaction.atomic
def _complete_step(
    enrollment: Enrollment,
    step: Step,
    *,
    actor: User,
    client_id: uuid.UUID | str,
    response: dict[str, Any] | None,
    duration_s: int | None,
    now: datetime,
) -> StepProgress:
    def act() -> dict[str, Any]:
        locked_enrollment = _own_active(enrollment, actor)
        _check_step(locked_enrollment, step)
        _check_duration(duration_s)
        state = _state(locked_enrollment, step, now)
        progress = state.progress
        if progress is not None and progress.status == ProgressStatus.COMPLETED:
            return {"progress": str(progress.pk), "counted": False}
        if state.status == "locked":
            raise StepLocked(state.locked_reason)
        if step.kind == StepKind.QUESTIONNAIRE and step.instrument:
            cleaned, summary = _answer_questionnaire(
                locked_enrollment,
                step,
                actor=actor,
                response=response,
                client_id=client_id,
                now=now,
            )
        else:
            cleaned, summary = _clean_response(step, response)
        if progress is None:
            progress = StepProgress(
                enrollment=locked_enrollment,
                step=step,
                first_viewed_at=_first_view(locked_enrollment, step) or now,
                started_at=now,
            )
        progress.status = ProgressStatus.COMPLETED
        progress.completed_at = now
        progress.duration_s = duration_s
        progress.response = cleaned
        progress.completion_client_id = idempotency._as_uuid(client_id)
        progress.save()
        emit(
            locked_enrollment,
            EventType.STEP_COMPLETED,
            at=now,
            step=step,
            duration_s=duration_s,
            value=summary,
        )
        audit.record(
            action="journey.step_complete",
            actor=actor,
            subject=progress,
            patient=locked_enrollment.patient_id,
            organization=locked_enrollment.organization_id,
            details={"enrollment": str(locked_enrollment.pk), "step": step.key},
            at=now,
        )
        return {"progress": str(progress.pk), "counted": True}

    result, _first = idempotency.once(
        user=actor, client_id=client_id, kind="step_complete", act=act
    )
    return StepProgress.objects.select_related("step").get(pk=result["progress"])


@transaction.atomic
def rate_step(
    enrollment: Enrollment,
    step: Step,
    *,
    actor: User,
    rating: int,
    client_id: uuid.UUID | str,
    now: datetime,
) -> StepProgress:
    """ "How helpful was this?" (1-5) for a finished step: one `exercise_rated` event."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationError({"rating": _("Choose a rating from 1 to 5.")})

    def act() -> dict[str, Any]:
        locked_enrollment = _own_active(enrollment, actor)
        _check_step(locked_enrollment, step)
        progress = (
            StepProgress.objects.select_for_update()
            .filter(enrollment=locked_enrollment, step=step, status=ProgressStatus.COMPLETED)
            .first()
        )
        if progress is None:
            raise ValidationError({"rating": _("Finish the step before rating it.")})
        progress.rating = rating
        progress.save(update_fields=["rating", "updated_at"])
        emit(locked_enrollment, EventType.EXERCISE_RATED, at=now, step=step, value=str(rating))
        audit.record(
            action="journey.step_rate",
            actor=actor,
            subject=progress,
            patient=locked_enrollment.patient_id,
            organization=locked_enrollment.organization_id,
            details={"step": step.key, "rating": rating},
            at=now,
        )
        return {"progress": str(progress.pk)}

    result, _first = idempotency.once(user=actor, client_id=client_id, kind="step_rate", act=act)
    return StepProgress.objects.select_related("step").get(pk=result["progress"])


@transaction.atomic
def record_activity_outcome(
    enrollment: Enrollment,
    step: Step,
    *,
    actor: User,
    mood: int,
    mastery: int,
    client_id: uuid.UUID | str,
    now: datetime,
) -> StepProgress:
    """A planned activity (behavioural activation) was done: mood and mastery, 0-10.

    The plan made when the step was completed is kept; the outcome is added to it, so
    the pair "what I planned" and "how it felt" stays together. One `activity_done` event.
    """

    def act() -> dict[str, Any]:
        locked_enrollment = _own_active(enrollment, actor)
        _check_step(locked_enrollment, step)
        if step.exercise != "behavioural_activation":
            raise ValidationError({"step": _("Only a planned activity can be marked as done.")})
        progress = (
            StepProgress.objects.select_for_update()
            .filter(enrollment=locked_enrollment, step=step, status=ProgressStatus.COMPLETED)
            .first()
        )
        if progress is None or not progress.response:
            raise ValidationError({"activity": _("Plan the activity first, then mark it done.")})
        if progress.response.get("done"):
            raise ValidationError({"activity": _("This activity is already marked as done.")})

        kind = EXERCISE_KINDS["behavioural_activation"]
        updated = kind.validate_response(
            {**progress.response, "done": True, "mood": mood, "mastery": mastery},
            step.settings or {},
        )
        progress.response = updated
        progress.save(update_fields=["response", "updated_at"])
        emit(
            locked_enrollment,
            EventType.ACTIVITY_DONE,
            at=now,
            step=step,
            value=f"{updated['mood']}/{updated['mastery']}",
        )
        audit.record(
            action="journey.activity_done",
            actor=actor,
            subject=progress,
            patient=locked_enrollment.patient_id,
            organization=locked_enrollment.organization_id,
            details={"step": step.key},
            at=now,
        )
        return {"progress": str(progress.pk)}

    result, _first = idempotency.once(
        user=actor, client_id=client_id, kind="activity_done", act=act
    )
    return StepProgress.objects.select_related("step").get(pk=result["progress"])


def _insert_dated(row: JournalEntry | MoodCheckIn, now: datetime) -> None:
    """Insert a new entry dated at the moment the service was given, not the database clock
    (the journal, the mood chart and the record all read `created_at`).

    Saved as given (`raw`), so the automatic timestamps do not replace the date: one
    INSERT, no UPDATE after it. Encrypted fields are still encrypted on the way in.
    """
    row.created_at = row.updated_at = now
    insert_row(row, as_given=True)


@transaction.atomic
def add_journal_entry(
    enrollment: Enrollment,
    *,
    actor: User,
    body: str,
    shared: bool,
    client_id: uuid.UUID | str,
    now: datetime,
    step: Step | None = None,
) -> JournalEntry:
    """A journal entry (stored encrypted), private unless the patient shares it."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write something before you save.")})
    if len(body) > MAX_JOURNAL:
        raise ValidationError(
            {"body": _("Please keep an entry under %(max)s characters.") % {"max": "10,000"}}
        )

    def act() -> dict[str, Any]:
        locked_enrollment = _own_active(enrollment, actor)
        if step is not None:
            _check_step(locked_enrollment, step)
        entry = JournalEntry(
            enrollment=locked_enrollment,
            body=body,
            shared_with_care_team=bool(shared),
            step=step,
            client_id=idempotency._as_uuid(client_id),
        )
        _insert_dated(entry, now)
        emit(
            locked_enrollment,
            EventType.JOURNAL_ENTRY,
            at=now,
            step=step,
            value=str(len(body.split())),
        )
        audit.record(
            action="journal.create",
            actor=actor,
            subject=entry,
            patient=locked_enrollment.patient_id,
            organization=locked_enrollment.organization_id,
            details={"shared": bool(shared)},
            at=now,
        )
        return {"entry": str(entry.pk)}

    result, _first = idempotency.once(user=actor, client_id=client_id, kind="journal", act=act)
    return JournalEntry.objects.get(pk=result["entry"])


@transaction.atomic
def set_journal_sharing(
    entry: JournalEntry, *, actor: User, shared: bool, now: datetime | None = None
) -> JournalEntry:
    """Share a journal entry with the care team, or stop sharing it (audited, no event)."""
    enrollment = entry.enrollment
    if actor is None or actor.pk != enrollment.patient_id:
        raise PermissionDenied(_("Only the patient can share their journal."))
    entry = JournalEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.shared_with_care_team == shared:
        return entry
    entry.shared_with_care_team = shared
    entry.save(update_fields=["shared_with_care_team", "updated_at"])
    audit.record(
        action="journal.share" if shared else "journal.unshare",
        actor=actor,
        subject=entry,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        at=now,
    )
    return entry


def check_in_mood(
    enrollment: Enrollment,
    *,
    actor: User,
    score: int,
    note: str,
    client_id: uuid.UUID | str,
    now: datetime,
) -> MoodCheckIn:
    """A mood check-in, 1 (very low) to 10 (very good), with an optional private note.

    It only adds rows, so the enrollment is not locked: its status is the one read with
    the caller's access check (a check-in racing the program's end by a moment is kept,
    dated before the end). The claim of the client id, the check-in, its event and its
    audit row are written together or not at all (on PostgreSQL as one statement); a
    repeat of the client id writes nothing and returns the first check-in."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 10:
        raise ValidationError({"score": _("Choose a number from 1 to 10.")})
    note = (note or "").strip()
    if len(note) > MAX_MOOD_NOTE:
        raise ValidationError(
            {"note": _("Please keep the note under %(max)s characters.") % {"max": "1,000"}}
        )
    key = idempotency._as_uuid(client_id)
    try:
        _own_running(enrollment, actor)
    except (PermissionDenied, ValidationError):
        first = idempotency.stored(user=actor, client_id=key, kind="mood")
        if first is None:
            raise
        return MoodCheckIn.objects.get(pk=first["mood"])  # a repeat after the program ended

    mood = MoodCheckIn(
        id=uuid.uuid4(), enrollment=enrollment, score=score, note=note, client_id=key
    )
    mood.created_at = mood.updated_at = now  # dated as given, as _insert_dated dates it
    claimed = ClaimedInserts(
        *idempotency.claim_statement(
            user=actor, client_id=key, kind="mood", result={"mood": str(mood.pk)}
        )
    )
    claimed.add(mood, as_given=True)
    emit_with(claimed, enrollment, EventType.MOOD_CHECKIN, at=now, value=str(score))
    audit.record_with(
        claimed,
        action="mood.create",
        actor=actor,
        subject=mood,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"score": score},
        at=now,
    )
    if claimed.run():
        return mood
    first = idempotency.stored(user=actor, client_id=key, kind="mood")
    assert first is not None  # the claim that was there a moment ago is never taken back
    return MoodCheckIn.objects.get(pk=first["mood"])


@transaction.atomic
def record_login(user: User, *, now: datetime) -> EngagementEvent | None:
    """A patient signed in: one `login` event on their current enrollment (if they have one).

    The sign-in itself is in the audit trail already (auth.login).
    """
    enrollment = current_enrollment(user)
    if enrollment is None:
        return None
    return emit(enrollment, EventType.LOGIN, at=now)


@transaction.atomic
def set_simple_mode(
    *, user: User, enabled: bool, actor: User, now: datetime | None = None
) -> Preferences:
    """Switch simple mode (larger text, one action per screen) on or off for a patient.

    A change made by the patient is one event on their current enrollment.
    """

    now = now or timeutil.now()
    if actor.pk != user.pk:
        raise PermissionDenied("Only the patient changes their own simple mode.")
    prefs, _created = Preferences.objects.select_for_update().get_or_create(user=user)
    if prefs.simple_mode == enabled:
        return prefs
    prefs.simple_mode = enabled
    prefs.save(update_fields=["simple_mode", "updated_at"])
    enrollment = current_enrollment(user)
    if enrollment is not None:
        emit(
            enrollment,
            EventType.SIMPLE_MODE_CHANGED,
            at=now,
            value="on" if enabled else "off",
        )
    return prefs
