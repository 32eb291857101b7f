"""Reading a patient's journey: which steps are open, what to do today, the story so far.

These functions take an enrollment the caller already reached through
`trellis.care.queries.access_enrollment` (or the patient's current enrollment), so they
do no permission filtering of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from django.db.models import Min, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from trellis.care.models import Enrollment
from trellis.care.queries import current_enrollment, enrollments_for, patient_zone
from trellis.core import timeutil
from trellis.engagement.models import EngagementEvent, EventType
from trellis.journey import unlock
from trellis.journey.models import JournalEntry, MoodCheckIn, ProgressStatus, StepProgress
from trellis.measures.queries import latest_scores as measured
from trellis.programs.models import Chapter, Step, StepKind

LOCKED_VIEW = "locked"  # value of a step_viewed event for a step that was still locked


@dataclass(frozen=True)
class StepState:
    """One step as this patient sees it now."""

    step: Step
    status: Literal["locked", "available", "started", "completed"]
    locked_reason: str = ""
    progress: StepProgress | None = None
    opens_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "locked"


@dataclass(frozen=True)
class Today:
    """What Today shows: the next step, its place in the story, a recap, a shorter option."""

    chapter: Chapter
    chapter_number: int
    chapter_count: int
    done_in_chapter: int
    steps_in_chapter: int
    next_step: StepState | None
    recap: str
    short_alternative: Step | None
    all_done: bool
    waiting_for: StepState | None = None  # the next locked step, when nothing is open


@dataclass(frozen=True)
class StoryStep:
    step: Step
    completed_at: datetime
    rating: int | None


@dataclass(frozen=True)
class StoryChapter:
    chapter: Chapter
    finished: bool
    steps: list[StoryStep] = field(default_factory=list)


@dataclass(frozen=True)
class Story:
    """My story so far: what the patient has done, never what they missed."""

    chapters_finished: int
    chapter_count: int
    exercises_done: int
    steps_done: int
    active_days: int
    skills_learned: list[str]
    chapters: list[StoryChapter]


def latest_scores(enrollment: Enrollment) -> dict[str, float]:
    """Latest total per instrument code (from trellis.measures); a questionnaire never
    answered, or answered too incompletely to score, has no entry."""

    return {code: float(total) for code, total in measured(enrollment).items()}


def program_steps(enrollment: Enrollment) -> list[Step]:
    return list(
        Step.objects.filter(version_id=enrollment.program_version_id)
        .select_related("chapter")
        .order_by("position")
    )


def _chapter_starts(
    enrollment: Enrollment, steps: list[Step], progress: Mapping[str, StepProgress]
) -> dict[str, datetime]:
    """When the patient first opened each chapter's first step (while it was open)."""
    first_of_chapter: dict[str, str] = {}
    for step in steps:
        first_of_chapter.setdefault(step.chapter.key, step.key)
    seen = dict(
        EngagementEvent.objects.filter(
            enrollment=enrollment,
            step_key__in=first_of_chapter.values(),
            type__in=[EventType.STEP_VIEWED, EventType.STEP_STARTED, EventType.STEP_COMPLETED],
        )
        .exclude(value=LOCKED_VIEW, type=EventType.STEP_VIEWED)
        .values("step_key")
        .annotate(first=Min("occurred_at"))
        .values_list("step_key", "first")
    )
    starts: dict[str, datetime] = {}
    for chapter_key, step_key in first_of_chapter.items():
        row = progress.get(step_key)
        moments = [
            m
            for m in (
                seen.get(step_key),
                row.first_viewed_at if row else None,
                row.started_at if row else None,
                row.completed_at if row else None,
            )
            if m is not None
        ]
        if moments:
            starts[chapter_key] = min(moments)
    return starts


def step_rules(steps: list[Step]) -> list[unlock.StepRule]:
    """What the unlock rules need of each step, its chapter's pacing included."""
    return [
        unlock.StepRule(
            s.key,
            s.chapter.key,
            s.title,
            s.unlock or {},
            chapter_number=s.chapter.position,
            chapter_title=s.chapter.title,
            chapter_min_days=s.chapter.min_days,
        )
        for s in steps
    ]


def step_states(
    enrollment: Enrollment, now: datetime, *, steps: list[Step] | None = None
) -> dict[str, StepState]:
    """Every step of the enrollment's program version, in order, with its status now."""
    steps = steps if steps is not None else program_steps(enrollment)
    progress = {
        p.step.key: p
        for p in StepProgress.objects.filter(enrollment=enrollment).select_related("step")
    }
    completed = {
        key: p.completed_at or now
        for key, p in progress.items()
        if p.status == ProgressStatus.COMPLETED
    }
    started = {key for key, p in progress.items() if p.status == ProgressStatus.STARTED}
    verdicts = unlock.evaluate(
        step_rules(steps),
        completed=completed,
        started=started,
        chapter_started=_chapter_starts(enrollment, steps, progress),
        scores=latest_scores(enrollment),
        now=now,
        tz=patient_zone(enrollment),
    )
    return {
        s.key: StepState(
            step=s,
            status=verdicts[s.key].status,
            locked_reason=verdicts[s.key].reason,
            progress=progress.get(s.key),
            opens_at=verdicts[s.key].opens_at,
        )
        for s in steps
    }


def _completed_at(state: StepState) -> datetime:
    moment = state.progress.completed_at if state.progress is not None else None
    return moment or datetime.min.replace(tzinfo=timeutil.UTC)


def _recap(states: list[StepState], chapter: Chapter, chapters: list[Chapter]) -> str:
    done = [s for s in states if s.status == "completed" and s.progress is not None]
    if not done:
        return _("This is where your story begins.")
    last = max(done, key=lambda s: (_completed_at(s), s.step.position))
    if last.step.chapter_id != chapter.pk:
        return _("You finished '%(chapter)s'. Now a new chapter begins.") % {
            "chapter": last.step.chapter.title
        }
    return _("Last time you did '%(title)s'.") % {"title": last.step.title}


def _short_alternative(
    next_state: StepState | None, by_key: Mapping[str, StepState]
) -> Step | None:
    """A shorter step for a busy day: the step's own short version, else the shortest
    exercise already done that takes less time."""
    if next_state is None:
        return None
    step = next_state.step
    if step.short_version_key:
        candidate = by_key.get(step.short_version_key)
        if candidate is not None and candidate.is_open and candidate.step.pk != step.pk:
            return candidate.step
    done_exercises = [
        s.step
        for s in by_key.values()
        if s.status == "completed"
        and s.step.kind == StepKind.EXERCISE
        and s.step.minutes < step.minutes
    ]
    if not done_exercises:
        return None
    return min(done_exercises, key=lambda s: (s.minutes, s.position))


def today(enrollment: Enrollment, now: datetime) -> Today:
    """What to do today, and where it sits in the story."""
    steps = program_steps(enrollment)
    by_key = step_states(enrollment, now, steps=steps)
    states = list(by_key.values())
    chapters = list(Chapter.objects.filter(version_id=enrollment.program_version_id))
    all_done = bool(states) and all(s.status == "completed" for s in states)
    next_state = next((s for s in states if s.status == "started"), None) or next(
        (s for s in states if s.status == "available"), None
    )
    waiting = None
    if next_state is None and not all_done:
        waiting = next((s for s in states if s.status == "locked"), None)
    anchor = next_state or waiting
    chapter = anchor.step.chapter if anchor is not None else chapters[-1]
    in_chapter = [s for s in states if s.step.chapter_id == chapter.pk]
    return Today(
        chapter=chapter,
        chapter_number=chapter.position,
        chapter_count=len(chapters),
        done_in_chapter=sum(1 for s in in_chapter if s.status == "completed"),
        steps_in_chapter=len(in_chapter),
        next_step=next_state,
        recap=_recap(states, chapter, chapters),
        short_alternative=_short_alternative(next_state, by_key),
        all_done=all_done,
        waiting_for=waiting,
    )


def active_days(enrollment: Enrollment) -> int:
    """Days (in the patient's time zone) on which the patient did anything at all."""
    tz = patient_zone(enrollment)
    days: set[date] = set()
    moments = (
        EngagementEvent.objects.filter(enrollment=enrollment)
        .values_list("occurred_at", flat=True)
        .iterator(chunk_size=2000)
    )
    for moment in moments:
        days.add(moment.astimezone(tz).date())
    return len(days)


def story(enrollment: Enrollment, now: datetime) -> Story:
    """Chapters finished, exercises done, active days and skills learned, chapter by chapter.

    There is no streak: a break costs nothing here.
    """
    steps = program_steps(enrollment)
    chapters = list(Chapter.objects.filter(version_id=enrollment.program_version_id))
    done = {
        p.step_id: p
        for p in StepProgress.objects.filter(enrollment=enrollment, status=ProgressStatus.COMPLETED)
    }
    story_chapters: list[StoryChapter] = []
    skills: list[str] = []
    for chapter in chapters:
        chapter_steps = [s for s in steps if s.chapter_id == chapter.pk]
        finished = bool(chapter_steps) and all(s.pk in done for s in chapter_steps)
        if finished:
            skills.extend(chapter.skills)
        story_chapters.append(
            StoryChapter(
                chapter=chapter,
                finished=finished,
                steps=[
                    StoryStep(
                        step=s,
                        completed_at=done[s.pk].completed_at or now,
                        rating=done[s.pk].rating,
                    )
                    for s in chapter_steps
                    if s.pk in done
                ],
            )
        )
    return Story(
        chapters_finished=sum(1 for c in story_chapters if c.finished),
        chapter_count=len(chapters),
        exercises_done=sum(1 for s in steps if s.pk in done and s.kind == StepKind.EXERCISE),
        steps_done=len(done),
        active_days=active_days(enrollment),
        skills_learned=skills,
        chapters=story_chapters,
    )


def journal_for(enrollment: Enrollment, *, viewer_is_patient: bool) -> list[JournalEntry]:
    """The patient sees every entry; their care team only the entries shared with them."""
    entries = JournalEntry.objects.filter(enrollment=enrollment).select_related("step")
    if not viewer_is_patient:
        entries = entries.filter(shared_with_care_team=True)
    return list(entries)


def enrollments_with_programs(user: Any) -> QuerySet[Enrollment]:
    """Enrollments in the person's reach, each with its program (a patient's own, a
    supporter's caseload)."""
    return enrollments_for(user).select_related("program_version__program")


def access_journal_entry(enrollment: Enrollment, pk: Any) -> JournalEntry:
    """One journal entry of the enrollment, or 404."""
    entry = JournalEntry.objects.filter(enrollment=enrollment, pk=pk).first()
    if entry is None:
        raise Http404(_("There is no such journal entry."))
    return entry


def access_step(enrollment: Enrollment, step_key: str) -> Step:
    """The step with this key in the enrollment's program, or 404."""
    step = (
        Step.objects.filter(version_id=enrollment.program_version_id, key=step_key)
        .select_related("chapter")
        .first()
    )
    if step is None:
        raise Http404(_("There is no such step in your program."))
    return step


def recent_moods(enrollment: Enrollment, *, limit: int = 30) -> list[MoodCheckIn]:
    return list(MoodCheckIn.objects.filter(enrollment=enrollment)[:limit])


def step_of_patient(patient: Any, step_key: str) -> tuple[Enrollment, Step] | None:
    """The step with this key in the patient's current program, else in the program of
    theirs that ended last and holds it (where a late answer belongs), or None."""
    holding = Step.objects.filter(key=step_key).values("version_id")
    current = current_enrollment(patient)
    enrollment = (
        current
        if current is not None
        and current.program_version_id in set(holding.values_list("version_id", flat=True))
        else Enrollment.objects.filter(
            patient_id=getattr(patient, "pk", None), program_version_id__in=holding
        )
        .select_related("program_version", "organization")
        .order_by("-started_at")
        .first()
    )
    if enrollment is None:
        return None
    step = Step.objects.select_related("chapter").get(
        version_id=enrollment.program_version_id, key=step_key
    )
    return enrollment, step
