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
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.care.queries import enrollments_for, patient_zone
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
class ChapterState:
    """One chapter as this patient sees it now: finished, open, or not open yet (and when)."""

    chapter: Chapter
    status: Literal["locked", "open", "finished"]
    done: int
    total: int
    opens: str = ""  # for a chapter not open yet: when it opens, in plain words
    opens_at: datetime | None = None

    @property
    def number(self) -> int:
        return self.chapter.position

    @property
    def begun(self) -> bool:
        return self.done > 0


@dataclass(frozen=True)
class Today:
    """What Today shows: the next step, its place in the story, a recap, a shorter option,
    the chapter's introduction when it has just opened, and the closing of the chapter just
    finished while the next one waits for its day."""

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
    chapters_finished: int = 0
    chapters: list[ChapterState] = field(default_factory=list)
    intro_due: bool = False  # the chapter has opened and none of its steps is begun
    just_finished: Chapter | None = None  # finished, and the next chapter is not open yet
    next_chapter_opens: str = ""  # "Chapter 3 opens on Thursday"
    # Every step of the program with its status, in order, as this plan was made from them.
    states: dict[str, StepState] = field(default_factory=dict)


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
    state: ChapterState | None = None


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


def _begun_by_patient(state: StepState) -> bool:
    """Started or done by the patient (a questionnaire step that an earlier answer stood
    for was not begun by them)."""
    if state.status not in ("started", "completed"):
        return False
    response = state.progress.response if state.progress is not None else None
    return not (isinstance(response, dict) and response.get("carried"))


def chapter_begun(in_chapter: list[StepState]) -> bool:
    """Whether the patient has begun any step of the chapter (its introduction is shown
    until they have)."""
    return any(_begun_by_patient(s) for s in in_chapter)


def chapter_states(chapters: list[Chapter], states: list[StepState]) -> list[ChapterState]:
    """Each chapter with how far the patient has got and, when not open yet, why."""
    result: list[ChapterState] = []
    for chapter in chapters:
        mine = [s for s in states if s.step.chapter_id == chapter.pk]
        done = sum(1 for s in mine if s.status == "completed")
        if mine and done == len(mine):
            result.append(ChapterState(chapter, "finished", done, len(mine)))
        elif any(s.is_open for s in mine):
            result.append(ChapterState(chapter, "open", done, len(mine)))
        else:
            first = mine[0] if mine else None
            result.append(
                ChapterState(
                    chapter,
                    "locked",
                    done,
                    len(mine),
                    opens=first.locked_reason if first else "",
                    opens_at=first.opens_at if first else None,
                )
            )
    return result


def today(enrollment: Enrollment, now: datetime) -> Today:
    """What to do today, and where it sits in the story."""
    steps = program_steps(enrollment)
    by_key = step_states(enrollment, now, steps=steps)
    states = list(by_key.values())
    chapters = list(Chapter.objects.filter(version_id=enrollment.program_version_id))
    chapter_list = chapter_states(chapters, states)
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
    here = next(c for c in chapter_list if c.chapter.pk == chapter.pk)
    before = next((c for c in chapter_list if c.number == here.number - 1), None)
    waiting_chapter = here.status == "locked" and before is not None and before.status == "finished"
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
        chapters_finished=sum(1 for c in chapter_list if c.status == "finished"),
        chapters=chapter_list,
        intro_due=here.status == "open" and not chapter_begun(in_chapter),
        just_finished=before.chapter if waiting_chapter and before is not None else None,
        next_chapter_opens=here.opens if waiting_chapter else "",
        states=by_key,
    )


@dataclass(frozen=True)
class ChapterEnd:
    """A chapter the patient has just finished, and the chapter after it (None at the end)."""

    chapter: Chapter
    following: ChapterState | None


def chapter_end(enrollment: Enrollment, step: Step, now: datetime) -> ChapterEnd | None:
    """The chapter this step finished, when it was the chapter's last step to be done."""
    steps = program_steps(enrollment)
    states = list(step_states(enrollment, now, steps=steps).values())
    mine = [s for s in states if s.step.chapter_id == step.chapter_id]
    if not mine or any(s.status != "completed" for s in mine):
        return None
    last = max(mine, key=lambda s: (_completed_at(s), s.step.position))
    if last.step.pk != step.pk:
        return None
    chapters = list(Chapter.objects.filter(version_id=enrollment.program_version_id))
    following = next(
        (c for c in chapter_states(chapters, states) if c.number == step.chapter.position + 1),
        None,
    )
    return ChapterEnd(step.chapter, following)


def access_chapter(enrollment: Enrollment, chapter_key: str) -> Chapter:
    """The chapter with this key in the enrollment's program, or 404."""
    chapter = Chapter.objects.filter(
        version_id=enrollment.program_version_id, key=chapter_key
    ).first()
    if chapter is None:
        raise Http404(_("There is no such chapter in your program."))
    return chapter


def chapter_state(enrollment: Enrollment, chapter: Chapter, now: datetime) -> ChapterState:
    """One chapter as the patient sees it now."""
    states = list(step_states(enrollment, now).values())
    return chapter_states([chapter], states)[0]


def answered_earlier(enrollment: Enrollment, progress: StepProgress | None, now: datetime) -> str:
    """For a questionnaire step that an earlier answer stands for: when that answer was
    given, in words ("You answered this on Tuesday"); else ""."""
    response = progress.response if progress is not None else None
    if not isinstance(response, dict) or not response.get("carried"):
        return ""
    try:
        moment = datetime.fromisoformat(str(response.get("answered_at")))
    except ValueError:
        return ""
    tz = patient_zone(enrollment)
    local = moment.astimezone(tz)
    days = (now.astimezone(tz).date() - local.date()).days
    if days <= 0:
        return _("You answered this earlier today")
    if days == 1:
        return _("You answered this yesterday")
    if days < 7:
        return _("You answered this on %(weekday)s") % {"weekday": date_format(local, "l")}
    return _("You answered this on %(date)s") % {"date": date_format(local, "MONTH_DAY_FORMAT")}


def active_days(enrollment: Enrollment) -> int:
    """Days (in the patient's time zone) on which the patient did anything at all."""
    tz = patient_zone(enrollment)
    days: set[date] = set()
    moments = (
        EngagementEvent.objects.filter(enrollment=enrollment)
        .exclude(type=EventType.CARE_TEAM_MESSAGE)
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
    states = {
        c.chapter.pk: c
        for c in chapter_states(chapters, list(step_states(enrollment, now, steps=steps).values()))
    }
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
                state=states.get(chapter.pk),
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


def active_enrollments(patient: Any) -> list[Enrollment]:
    """The patient's running programs, the most recently started first."""
    if getattr(patient, "pk", None) is None:
        return []
    return list(
        Enrollment.objects.filter(patient_id=patient.pk, status=EnrollmentStatus.ACTIVE)
        .select_related("program_version__program", "organization")
        .order_by("-started_at")
    )


def chosen_enrollment(patient: Any, chosen_id: Any) -> Enrollment | None:
    """The running program the patient chose (by id), else the one started last."""
    running = active_enrollments(patient)
    chosen = next((e for e in running if str(e.pk) == str(chosen_id)), None)
    return chosen or (running[0] if running else None)


def access_own_active_enrollment(patient: Any, pk: Any) -> Enrollment:
    """One of the patient's own running programs, or 404 (anyone else's looks the same)."""
    found = next((e for e in active_enrollments(patient) if str(e.pk) == str(pk)), None)
    if found is None:
        raise Http404(_("There is no such program of yours."))
    return found


def enrollment_holding(patient: Any, step_key: str, *, prefer: Any = None) -> Enrollment | None:
    """The running program of the patient that holds this step: the chosen one when it
    does (step keys are unique in a program, not across programs), else the latest."""
    running = active_enrollments(patient)
    holding = set(
        Step.objects.filter(
            key=step_key, version_id__in=[e.program_version_id for e in running]
        ).values_list("version_id", flat=True)
    )
    candidates = [e for e in running if e.program_version_id in holding]
    preferred = next((e for e in candidates if str(e.pk) == str(prefer)), None)
    return preferred or (candidates[0] if candidates else None)


def step_of_patient(
    patient: Any, step_key: str, *, prefer: Any = None
) -> tuple[Enrollment, Step] | None:
    """The step with this key in the patient's running programs (the chosen one first),
    else in the program of theirs that ended last and holds it (where a late answer
    belongs), or None."""
    holding = Step.objects.filter(key=step_key).values("version_id")
    running = enrollment_holding(patient, step_key, prefer=prefer)
    enrollment = (
        running
        if running is not None
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
