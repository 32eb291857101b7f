"""A progress summary before every contact: what happened since the care team last spoke
with the patient, as facts the template puts into words.

"The last contact" is the later of the last message from the care team to the patient and
the last attended live session (its start, as the caseload counts it); before either
exists, the start of the program. Everything here is read from the record and nothing is
inferred: a part with no data in the period is empty, and the template says so.

The summary costs nine queries whatever the length of the period (no query per event):
the last message from the care team, the last attended session, the patient's events in
the period, the steps done, the PHQ-9 and GAD-7 scores, the mood check-ins of this period
and the one before, the journal entries shared in the period, the open alerts and the
latest dropout-risk score. The caller has checked that the enrollment is in reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from trellis.alerts.models import Alert, AlertState
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.care.models import Enrollment
from trellis.engagement.models import PATIENT_INITIATED, EngagementEvent, EventType
from trellis.insights.models import RiskMethod
from trellis.insights.queries import latest_score
from trellis.journey.models import JournalEntry, MoodCheckIn, ProgressStatus, StepProgress
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.models import Message
from trellis.programs.exercises import EXERCISE_KINDS
from trellis.programs.models import StepKind

SCORED = ("PHQ-9", "GAD-7")
# Mood averages closer than this (points on the 1-10 scale) are "about the same".
MOOD_STEADY_WITHIN = 0.5
# How much of a shared journal entry the summary quotes.
FIRST_WORDS = 12


@dataclass(frozen=True)
class Contact:
    """Where the period starts: the last message from the care team, the last attended
    session, or (before either) the start of the program."""

    at: datetime
    kind: Literal["message", "session", "start"]
    by: str = ""  # who wrote or held the session


@dataclass(frozen=True)
class StepDone:
    title: str
    kind: str  # the step kind ("exercise", "lesson", ...)
    kind_label: str  # the exercise kind's name for exercises, else the step kind's
    at: datetime


@dataclass(frozen=True)
class Rating:
    title: str
    rating: int
    at: datetime


@dataclass(frozen=True)
class Activity:
    """What the patient did in the period (only what they did themselves)."""

    active_days: int = 0
    steps: list[StepDone] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    journal_entries: int = 0  # written, shared or not (a count only, never their words)

    @property
    def any(self) -> bool:
        return self.active_days > 0 or bool(self.steps)


@dataclass(frozen=True)
class Change:
    """A difference between two scores, in points."""

    points: int

    @property
    def direction(self) -> Literal["up", "down", "same"]:
        return "up" if self.points > 0 else "down" if self.points < 0 else "same"

    @property
    def size(self) -> int:
        return abs(self.points)


@dataclass(frozen=True)
class ScoreChange:
    """The newest score of one questionnaire answered in the period, with its band and how
    it moved since the score before it and since the first (the baseline)."""

    code: str
    total: int
    band: str
    at: datetime
    in_period: int  # how many scored answers to it in the period
    previous: int | None = None
    previous_at: datetime | None = None
    baseline: int | None = None
    baseline_at: datetime | None = None

    @property
    def since_previous(self) -> Change | None:
        return None if self.previous is None else Change(self.total - self.previous)

    @property
    def since_baseline(self) -> Change | None:
        """None when there is no baseline, or when the baseline is the score before."""
        if self.baseline is None or self.baseline_at == self.previous_at:
            return None
        return Change(self.total - self.baseline)


@dataclass(frozen=True)
class MoodTrend:
    """Mood check-ins of the period against the same length of time before it."""

    count: int
    average: float
    before_count: int = 0
    before_average: float | None = None

    @property
    def direction(self) -> Literal["up", "down", "steady", ""]:
        if self.before_average is None:
            return ""
        difference = self.average - self.before_average
        if abs(difference) < MOOD_STEADY_WITHIN:
            return "steady"
        return "up" if difference > 0 else "down"


@dataclass(frozen=True)
class SharedEntry:
    """A journal entry the patient shared with the care team, by its first words."""

    at: datetime
    first_words: str
    cut: bool  # the entry goes on after these words
    step_title: str = ""  # the step it was written in, if any


@dataclass(frozen=True)
class OpenAlert:
    pk: object
    kind: str
    kind_label: str
    severity_label: str
    since: datetime


@dataclass(frozen=True)
class Risk:
    """The latest nightly dropout-risk score: a model's estimate with its reasons, or a
    note that the clinic uses its alert rules only."""

    method: str
    scored_at: datetime
    risk: float | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def rules_only(self) -> bool:
        return self.method == RiskMethod.RULES

    @property
    def percent(self) -> int | None:
        return None if self.risk is None else round(self.risk * 100)


@dataclass(frozen=True)
class ProgressSummary:
    since: Contact
    until: datetime
    activity: Activity
    scores: list[ScoreChange]
    mood: MoodTrend | None
    shared: list[SharedEntry]
    alerts: list[OpenAlert]
    risk: Risk | None

    @property
    def days(self) -> int:
        """Whole days in the period."""
        return max((self.until - self.since.at).days, 0)


def last_contact(enrollment: Enrollment, *, now: datetime) -> Contact:
    """The later of the last message from the care team and the last attended session;
    the start of the program before either (two queries)."""
    contact = Contact(enrollment.started_at, "start")
    message = (
        Message.objects.filter(thread__enrollment=enrollment, from_patient=False, sent_at__lte=now)
        .select_related("sender")
        .order_by("-sent_at")
        .first()
    )
    if message is not None and message.sent_at > contact.at:
        contact = Contact(message.sent_at, "message", message.sender.display_name)
    session = (
        Appointment.objects.filter(
            enrollment=enrollment, status=AppointmentStatus.ATTENDED, starts_at__lte=now
        )
        .select_related("supporter")
        .order_by("-starts_at")
        .first()
    )
    if session is not None and session.starts_at > contact.at:
        contact = Contact(session.starts_at, "session", session.supporter.display_name)
    return contact


def _kind_label(kind: str, exercise: str) -> str:
    if kind == StepKind.EXERCISE and exercise in EXERCISE_KINDS:
        return str(EXERCISE_KINDS[exercise].label)
    return str(StepKind(kind).label) if kind in StepKind.values else kind


def _activity(enrollment: Enrollment, since: datetime, now: datetime, tz: ZoneInfo) -> Activity:
    events = list(
        EngagementEvent.objects.filter(
            enrollment=enrollment,
            occurred_at__gte=since,
            occurred_at__lte=now,
            type__in=PATIENT_INITIATED,
        )
        .order_by("occurred_at", "id")
        .values_list("occurred_at", "type", "step_key", "value")
    )
    done = list(
        StepProgress.objects.filter(
            enrollment=enrollment, status=ProgressStatus.COMPLETED, completed_at__isnull=False
        )
        .select_related("step")
        .order_by("completed_at", "step__position")
    )
    titles = {p.step.key: p.step.title for p in done}
    steps = [
        StepDone(
            p.step.title, p.step.kind, _kind_label(p.step.kind, p.step.exercise), p.completed_at
        )
        for p in done
        if p.completed_at is not None and since <= p.completed_at <= now
    ]
    rated: dict[str, Rating] = {}  # the last rating of each step in the period
    for at, kind, key, value in events:
        if kind == EventType.EXERCISE_RATED and value.isdigit():
            rated.pop(key, None)
            rated[key] = Rating(titles.get(key, key), int(value), at)
    return Activity(
        active_days=len({at.astimezone(tz).date() for at, *_rest in events}),
        steps=steps,
        ratings=list(rated.values()),
        journal_entries=sum(1 for _at, kind, *_rest in events if kind == EventType.JOURNAL_ENTRY),
    )


def _scores(enrollment: Enrollment, since: datetime, now: datetime) -> list[ScoreChange]:
    series: dict[str, list[tuple[datetime, int, str]]] = {code: [] for code in SCORED}
    for code, at, total, band in (
        QuestionnaireResponse.objects.filter(
            enrollment=enrollment, instrument__in=SCORED, total__isnull=False, submitted_at__lte=now
        )
        .order_by("submitted_at")
        .values_list("instrument", "submitted_at", "total", "band")
    ):
        if total is not None:  # filtered out above; this tells the type checker
            series[code].append((at, total, band))
    out = []
    for code, points in series.items():
        recent = [p for p in points if p[0] >= since]
        if not recent:
            continue
        at, total, band = points[-1]
        previous = points[-2] if len(points) > 1 else None
        first = points[0] if len(points) > 1 else None
        out.append(
            ScoreChange(
                code,
                total,
                band,
                at,
                in_period=len(recent),
                previous=previous[1] if previous else None,
                previous_at=previous[0] if previous else None,
                baseline=first[1] if first else None,
                baseline_at=first[0] if first else None,
            )
        )
    return out


def _mood(enrollment: Enrollment, since: datetime, now: datetime) -> MoodTrend | None:
    before_from = since - (now - since)
    now_scores: list[int] = []
    before_scores: list[int] = []
    for at, score in MoodCheckIn.objects.filter(
        enrollment=enrollment, created_at__gte=before_from, created_at__lte=now
    ).values_list("created_at", "score"):
        (now_scores if at >= since else before_scores).append(score)
    if not now_scores:
        return None
    return MoodTrend(
        count=len(now_scores),
        average=sum(now_scores) / len(now_scores),
        before_count=len(before_scores),
        before_average=sum(before_scores) / len(before_scores) if before_scores else None,
    )


def _shared(enrollment: Enrollment, since: datetime, now: datetime) -> list[SharedEntry]:
    entries = []
    for entry in (
        JournalEntry.objects.filter(
            enrollment=enrollment,
            shared_with_care_team=True,
            created_at__gte=since,
            created_at__lte=now,
        )
        .select_related("step")
        .order_by("created_at")
    ):
        words = entry.body.split()
        entries.append(
            SharedEntry(
                entry.created_at,
                " ".join(words[:FIRST_WORDS]),
                len(words) > FIRST_WORDS,
                entry.step.title if entry.step is not None else "",
            )
        )
    return entries


def _alerts(enrollment: Enrollment) -> list[OpenAlert]:
    return [
        OpenAlert(a.pk, a.kind, a.get_kind_display(), a.get_severity_display(), a.raised_at)
        for a in Alert.objects.filter(enrollment=enrollment, state=AlertState.OPEN).order_by(
            "raised_at"
        )
    ]


def _risk(enrollment: Enrollment) -> Risk | None:
    score = latest_score(enrollment.pk)
    if score is None:
        return None
    return Risk(
        method=score.method,
        scored_at=score.scored_at,
        risk=score.risk,
        reasons=[str(r) for r in score.reasons or []],
    )


def progress_summary(enrollment: Enrollment, *, now: datetime, tz: ZoneInfo) -> ProgressSummary:
    """The facts of the period since the last contact (`tz`, the patient's zone, decides
    which calendar day an action fell on when counting active days)."""
    since = last_contact(enrollment, now=now)
    return ProgressSummary(
        since=since,
        until=now,
        activity=_activity(enrollment, since.at, now, tz),
        scores=_scores(enrollment, since.at, now),
        mood=_mood(enrollment, since.at, now),
        shared=_shared(enrollment, since.at, now),
        alerts=_alerts(enrollment),
        risk=_risk(enrollment),
    )
