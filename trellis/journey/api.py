"""The patient journey as JSON, for a mobile app: enrollments, today, steps, journal, moods,
the story so far.

A patient acts on their own enrollments. Their supporters (and the clinic's supervisors)
may read today, the story and steps of enrollments in their reach, never write. Integration
tokens get 403: patient journeys are not for integrations. Anything outside the caller's
reach is 404. A step that is still locked answers 409 with the reason it opens later.
Every write carries a `client_id` (a UUID made by the app): sending the same one again
returns the first answer and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict, StrictBool

from trellis.accounts.api import session_user
from trellis.accounts.models import User
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care.models import Enrollment, EnrollmentStatus, SupportLevel
from trellis.care.queries import READ_WITH, access_enrollment, own_enrollment, supporters_of
from trellis.core import timeutil
from trellis.core.errors import Conflict, error_list
from trellis.core.schemas import (
    NOT_BLANK,
    WHOLE,
    ErrorItem,
    ErrorOut,
    RequestBody,
    refusals,
    refused_without,
)
from trellis.journey import queries, services
from trellis.journey.models import JournalEntry, MoodCheckIn, ProgressStatus, StepProgress
from trellis.measures.services import crisis_for_submission
from trellis.programs.models import StepKind

router = Router(tags=["journey"])


class StepRefusedOut(ErrorOut):
    """A refused completion; a questionnaire step's safety answers were acted on first."""

    crisis_resources: str | None = Field(
        default=None,
        description="The clinic's crisis text, when a questionnaire step's answers fired a "
        "safety rule: acted on, and to show at once, although the rest was refused.",
    )


class EnrollmentOut(Schema):
    id: uuid.UUID
    program: str
    program_title: str
    version: int
    support_level: SupportLevel
    status: EnrollmentStatus
    started_at: datetime
    ended_at: datetime | None
    supporters: list[str]

    @staticmethod
    def of(enrollment: Enrollment) -> EnrollmentOut:
        version = enrollment.program_version
        return EnrollmentOut(
            id=enrollment.pk,
            program=version.program.slug,
            program_title=version.title,
            version=version.number,
            support_level=SupportLevel(enrollment.support_level),
            status=EnrollmentStatus(enrollment.status),
            started_at=enrollment.started_at,
            ended_at=enrollment.ended_at,
            supporters=[m.supporter.display_name for m in supporters_of(enrollment)],
        )


class StepSummaryOut(Schema):
    key: str
    title: str
    kind: StepKind
    exercise: str
    minutes: int
    chapter: str
    status: Literal["locked", "available", "started", "completed"]
    locked_reason: str

    @staticmethod
    def of(state: queries.StepState) -> StepSummaryOut:
        step = state.step
        return StepSummaryOut(
            key=step.key,
            title=step.title,
            kind=StepKind(step.kind),
            exercise=step.exercise,
            minutes=step.minutes,
            chapter=step.chapter.key,
            status=state.status,
            locked_reason=state.locked_reason,
        )


class ProgressOut(Schema):
    step: str
    status: ProgressStatus
    completed_at: datetime | None
    duration_s: int | None
    rating: int | None
    response: dict[str, Any] | None
    crisis_resources: str | None = Field(
        default=None,
        description="The clinic's crisis text, to show at once, when a questionnaire step's "
        "answers fired a safety rule.",
    )

    @staticmethod
    def of(progress: StepProgress, crisis_resources: str | None = None) -> ProgressOut:
        return ProgressOut(
            step=progress.step.key,
            status=ProgressStatus(progress.status),
            completed_at=progress.completed_at,
            duration_s=progress.duration_s,
            rating=progress.rating,
            response=progress.response if isinstance(progress.response, dict) else None,
            crisis_resources=crisis_resources,
        )


class StepOut(StepSummaryOut):
    body_html: str
    hint: str
    prompt: str
    instrument: str
    settings: dict[str, Any]
    short_version: str
    progress: ProgressOut | None


class TodayOut(Schema):
    chapter_key: str
    chapter_title: str
    chapter_number: int
    chapter_count: int
    done_in_chapter: int
    steps_in_chapter: int
    next_step: StepSummaryOut | None
    waiting_for: StepSummaryOut | None
    recap: str
    short_alternative: str | None
    all_done: bool
    chapters_finished: int = Field(description="Chapters whose every step is done.")
    chapter_intro_html: str | None = Field(
        description="The chapter's introduction, while it has just opened and none of its "
        "steps is begun."
    )
    finished_chapter_key: str | None = Field(
        description="The chapter just finished, while the next one waits for its day."
    )
    finished_chapter_closing_html: str | None = Field(
        description="That chapter's closing reflection."
    )
    next_chapter_opens: str = Field(
        description="When the next chapter opens, in the patient's words (or empty)."
    )


class StoryStepOut(Schema):
    key: str
    title: str
    completed_at: datetime
    rating: int | None


class StoryChapterOut(Schema):
    key: str
    title: str
    finished: bool
    status: Literal["locked", "open", "finished"]
    opens: str = Field(description="For a chapter not open yet: when it opens, in words.")
    min_days: int = Field(description="Days after the chapter before it opened (pacing).")
    steps: list[StoryStepOut]


class StoryOut(Schema):
    chapters_finished: int
    chapter_count: int
    exercises_done: int
    steps_done: int
    active_days: int
    skills_learned: list[str]
    chapters: list[StoryChapterOut]


class CompleteIn(RequestBody):
    # Checked by the service, so a questionnaire step's safety answers are acted on even
    # when the client id is missing.
    model_config = ConfigDict(json_schema_extra=refused_without("client_id"))

    client_id: str | None = Field(
        default=None,
        max_length=64,
        description="A UUID made by the app for this completion (required).",
        json_schema_extra={"format": "uuid"},
    )
    response: dict[str, Any] = Field(default_factory=dict)
    duration_s: Annotated[int, Field(ge=0, le=services.MAX_DURATION_S), WHOLE] | None = None


class RatingIn(RequestBody):
    client_id: uuid.UUID
    rating: Annotated[int, WHOLE] = Field(
        ge=1, le=5, description="How helpful was this? 1 (not at all) to 5."
    )


class JournalIn(RequestBody):
    client_id: uuid.UUID
    body: str = Field(min_length=1, max_length=services.MAX_JOURNAL, json_schema_extra=NOT_BLANK)
    shared: StrictBool = False


class JournalOut(Schema):
    id: uuid.UUID
    created_at: datetime
    body: str
    shared: bool
    step: str | None

    @staticmethod
    def of(entry: JournalEntry) -> JournalOut:
        return JournalOut(
            id=entry.pk,
            created_at=entry.created_at,
            body=entry.body,
            shared=entry.shared_with_care_team,
            step=entry.step.key if entry.step is not None else None,
        )


class MoodIn(RequestBody):
    client_id: uuid.UUID
    score: Annotated[int, WHOLE] = Field(ge=1, le=10)
    note: str = Field(default="", max_length=services.MAX_MOOD_NOTE)


class MoodOut(Schema):
    id: uuid.UUID
    created_at: datetime
    score: int
    note: str


def _reach(request: HttpRequest, enrollment_id: uuid.UUID) -> tuple[User, Enrollment]:
    user = session_user(request)
    return user, access_enrollment(user, enrollment_id)


def _own(
    request: HttpRequest, enrollment_id: uuid.UUID, *, related: tuple[str, ...] = READ_WITH
) -> tuple[User, Enrollment]:
    """Writes are the patient's alone: supporters in reach get 403, anyone else 404.
    `related`: the rows the write reads beside the enrollment."""
    user = session_user(request)
    enrollment = own_enrollment(user, enrollment_id, related=related)
    if enrollment is None:
        access_enrollment(user, enrollment_id)  # 404 outside the caller's reach
        raise HttpError(403, _("Only the patient can do this in their program."))
    return user, enrollment


def _read(request: HttpRequest, enrollment_id: uuid.UUID, what: str) -> tuple[User, Enrollment]:
    user, enrollment = _reach(request, enrollment_id)
    note_read(
        actor=user,
        what=Read.JOURNEY,
        via="api",
        patient=enrollment.patient_id,
        subject=enrollment,
        details={"what": what},
    )
    return user, enrollment


@router.get("/enrollments", response={200: list[EnrollmentOut], **refusals(401, 403)})
def list_enrollments(request: HttpRequest) -> list[EnrollmentOut]:
    """Enrollments in the caller's reach: a patient's own, a supporter's caseload."""
    user = session_user(request)
    enrollments = list(queries.enrollments_with_programs(user))
    note_read(
        actor=user,
        what=Read.ENROLLMENTS,
        via="api",
        patients=[e.patient_id for e in enrollments],
    )
    return [EnrollmentOut.of(e) for e in enrollments]


@router.get(
    "/enrollments/{enrollment_id}/today",
    response={200: TodayOut, **refusals(401, 403, 404, 422)},
)
def get_today(request: HttpRequest, enrollment_id: uuid.UUID) -> TodayOut:
    """The next step with its place in the story, a recap, and a shorter option."""
    user, enrollment = _read(request, enrollment_id, "today")
    now = timeutil.now()
    t = queries.today(enrollment, now)
    # Only the patient's own visit carries answers (the service checks who and whether).
    if services.carry_recent_answers(enrollment, actor=user, now=now, states=t.states):
        t = queries.today(enrollment, now)
    return TodayOut(
        chapter_key=t.chapter.key,
        chapter_title=t.chapter.title,
        chapter_number=t.chapter_number,
        chapter_count=t.chapter_count,
        done_in_chapter=t.done_in_chapter,
        steps_in_chapter=t.steps_in_chapter,
        next_step=StepSummaryOut.of(t.next_step) if t.next_step else None,
        waiting_for=StepSummaryOut.of(t.waiting_for) if t.waiting_for else None,
        recap=t.recap,
        short_alternative=t.short_alternative.key if t.short_alternative else None,
        all_done=t.all_done,
        chapters_finished=t.chapters_finished,
        chapter_intro_html=t.chapter.intro_html if t.intro_due else None,
        finished_chapter_key=t.just_finished.key if t.just_finished else None,
        finished_chapter_closing_html=t.just_finished.closing_html if t.just_finished else None,
        next_chapter_opens=t.next_chapter_opens,
    )


@router.get(
    "/enrollments/{enrollment_id}/steps/{step_key}",
    response={200: StepOut, **refusals(401, 403, 404, 422)},
)
def get_step(request: HttpRequest, enrollment_id: uuid.UUID, step_key: str) -> StepOut:
    """One step's content and progress. A patient opening it records `step_viewed`."""
    user, enrollment = _read(request, enrollment_id, "step")
    step = queries.access_step(enrollment, step_key)
    now = timeutil.now()
    if enrollment.patient_id == user.pk and enrollment.is_active:
        services.view_step(enrollment, step, actor=user, now=now)
    states = queries.step_states(enrollment, now)
    if services.carry_recent_answers(enrollment, actor=user, now=now, states=states):
        states = queries.step_states(enrollment, now)
    state = states[step.key]
    return StepOut(
        **StepSummaryOut.of(state).dict(),
        body_html=step.body_html,
        hint=step.hint,
        prompt=step.prompt,
        instrument=step.instrument,
        settings=step.settings or {},
        short_version=step.short_version_key,
        progress=ProgressOut.of(state.progress) if state.progress else None,
    )


@router.post(
    "/enrollments/{enrollment_id}/steps/{step_key}/complete",
    response={
        200: ProgressOut,
        409: StepRefusedOut,
        422: StepRefusedOut,
        **refusals(400, 401, 403, 404),
    },
)
def complete_step(
    request: HttpRequest, enrollment_id: uuid.UUID, step_key: str, payload: CompleteIn
) -> Any:
    """Finish a step with the patient's answer. Locked: 409 with the reason. A
    questionnaire step's safety answers are acted on first, and a refusal then carries
    `crisis_resources`."""
    user, enrollment = _own(request, enrollment_id)
    step = queries.access_step(enrollment, step_key)
    try:
        progress = services.complete_step(
            enrollment,
            step,
            actor=user,
            client_id=payload.client_id or "",
            response=payload.response,
            duration_s=payload.duration_s,
            now=timeutil.now(),
        )
    except services.StepLocked as locked:
        return Status(
            409,
            StepRefusedOut(
                detail=locked.reason, errors=[], crisis_resources=locked.crisis_resources
            ),
        )
    except ValidationError as refused:
        conflict = isinstance(refused, Conflict)
        return Status(
            409 if conflict else 422,
            StepRefusedOut(
                detail=_("The request conflicts with what exists.")
                if conflict
                else _("The request is not valid."),
                errors=[ErrorItem(**row) for row in error_list(refused)],
                crisis_resources=getattr(refused, "crisis_resources", None),
            ),
        )
    return ProgressOut.of(
        progress, crisis_for_submission(enrollment, progress.completion_client_id)
    )


@router.post(
    "/enrollments/{enrollment_id}/steps/{step_key}/rating",
    response={200: ProgressOut, **refusals(400, 401, 403, 404, 409, 422)},
)
def rate_step(
    request: HttpRequest, enrollment_id: uuid.UUID, step_key: str, payload: RatingIn
) -> ProgressOut:
    """How helpful was this step, 1 to 5."""
    user, enrollment = _own(request, enrollment_id)
    step = queries.access_step(enrollment, step_key)
    progress = services.rate_step(
        enrollment,
        step,
        actor=user,
        rating=payload.rating,
        client_id=payload.client_id,
        now=timeutil.now(),
    )
    return ProgressOut.of(progress)


@router.get(
    "/enrollments/{enrollment_id}/journal",
    response={200: list[JournalOut], **refusals(401, 403, 404, 422)},
)
def list_journal(request: HttpRequest, enrollment_id: uuid.UUID) -> list[JournalOut]:
    """The patient's journal; their supporters see only the entries shared with them."""
    user, enrollment = _read(request, enrollment_id, "journal")
    entries = queries.journal_for(enrollment, viewer_is_patient=enrollment.patient_id == user.pk)
    return [JournalOut.of(e) for e in entries]


@router.post(
    "/enrollments/{enrollment_id}/journal",
    response={200: JournalOut, **refusals(400, 401, 403, 404, 409, 422)},
)
def add_journal_entry(
    request: HttpRequest, enrollment_id: uuid.UUID, payload: JournalIn
) -> JournalOut:
    """Write in the journal (stored encrypted), shared with the care team only if asked."""
    user, enrollment = _own(request, enrollment_id)
    entry = services.add_journal_entry(
        enrollment,
        actor=user,
        body=payload.body,
        shared=payload.shared,
        client_id=payload.client_id,
        now=timeutil.now(),
    )
    return JournalOut.of(entry)


@router.post(
    "/enrollments/{enrollment_id}/moods",
    response={200: MoodOut, **refusals(400, 401, 403, 404, 409, 422)},
)
def check_in_mood(request: HttpRequest, enrollment_id: uuid.UUID, payload: MoodIn) -> MoodOut:
    """A mood check-in from 1 to 10 with an optional note."""
    user, enrollment = _own(request, enrollment_id, related=())
    mood: MoodCheckIn = services.check_in_mood(
        enrollment,
        actor=user,
        score=payload.score,
        note=payload.note,
        client_id=payload.client_id,
        now=timeutil.now(),
    )
    return MoodOut(id=mood.pk, created_at=mood.created_at, score=mood.score, note=mood.note)


@router.get(
    "/enrollments/{enrollment_id}/story",
    response={200: StoryOut, **refusals(401, 403, 404, 422)},
)
def get_story(request: HttpRequest, enrollment_id: uuid.UUID) -> StoryOut:
    """My story so far: chapters finished, exercises done, active days, skills learned."""
    _user, enrollment = _read(request, enrollment_id, "story")
    s = queries.story(enrollment, timeutil.now())
    return StoryOut(
        chapters_finished=s.chapters_finished,
        chapter_count=s.chapter_count,
        exercises_done=s.exercises_done,
        steps_done=s.steps_done,
        active_days=s.active_days,
        skills_learned=s.skills_learned,
        chapters=[
            StoryChapterOut(
                key=c.chapter.key,
                title=c.chapter.title,
                finished=c.finished,
                status=c.state.status if c.state else ("finished" if c.finished else "open"),
                opens=c.state.opens if c.state else "",
                min_days=c.chapter.min_days,
                steps=[
                    StoryStepOut(
                        key=st.step.key,
                        title=st.step.title,
                        completed_at=st.completed_at,
                        rating=st.rating,
                    )
                    for st in c.steps
                ],
            )
            for c in s.chapters
        ],
    )
