"""The patient record as the care team reads it: what needs attention, then one timeline
of everything, newest first.

`attention` is what the record opens with: open alerts (safety first), the latest scores
with their band and change, messages waiting for a reply and the next session. It costs
three small queries (the scores come from the series the page's chart already read).
Each timeline source is read with its own bounded query (the newest PER_SOURCE rows), then
merged, so the page costs the same whatever the length of the treatment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Case, F, IntegerField, Value, When
from django.utils.translation import gettext as _

from trellis.alerts.models import Alert, AlertState
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.care.models import CareNote, Enrollment, StepChangeStatus, SteppedCareChange
from trellis.journey.models import MoodCheckIn, ProgressStatus, StepProgress
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.models import Message

PER_SOURCE = 40
SHOWN = 120
WAITING_SHOWN = 5
SEVERITY_ORDER = ("urgent", "high", "medium", "low")


@dataclass(frozen=True)
class LatestScore:
    """The newest scored questionnaire of one instrument and how it moved since the one
    before (None for the first)."""

    code: str
    total: int
    band: str
    at: datetime
    change: int | None

    @property
    def change_in_words(self) -> str:
        if self.change is None:
            return _("first measure")
        if self.change == 0:
            return _("no change")
        if self.change > 0:
            return _("up %(n)s since the one before") % {"n": self.change}
        return _("down %(n)s since the one before") % {"n": -self.change}


@dataclass
class Attention:
    """What needs the care team first, at the top of the record."""

    alerts: Sequence[Alert] = field(default_factory=list)
    scores: list[LatestScore] = field(default_factory=list)
    waiting: list[Message] = field(default_factory=list)
    waiting_since: datetime | None = None
    next_session: Appointment | None = None

    @property
    def has_safety_alert(self) -> bool:
        return any(alert.kind == "safety" for alert in self.alerts)


def latest_scores(
    by_instrument: dict[str, list[tuple[datetime, int | None, str]]],
) -> list[LatestScore]:
    """The newest scored measure of each instrument, from series already read (oldest
    first), with its change since the scored one before."""
    out = []
    for code, points in by_instrument.items():
        scored = [(at, total, band) for at, total, band in points if total is not None]
        if not scored:
            continue
        at, total, band = scored[-1]
        assert total is not None
        before = scored[-2][1] if len(scored) > 1 else None
        out.append(LatestScore(code, total, band, at, None if before is None else total - before))
    return out


def attention(
    enrollment: Enrollment,
    *,
    now: datetime,
    by_instrument: dict[str, list[tuple[datetime, int | None, str]]],
) -> Attention:
    """Open alerts (safety first, then by severity), latest scores, the patient's messages
    still waiting for a reply (oldest first) and the next booked session: three queries."""
    severity_rank = Case(
        When(kind="safety", then=Value(-1)),
        *(When(severity=s, then=Value(n)) for n, s in enumerate(SEVERITY_ORDER)),
        default=Value(len(SEVERITY_ORDER)),
        output_field=IntegerField(),
    )
    alerts = list(
        Alert.objects.filter(enrollment=enrollment, state=AlertState.OPEN)
        .annotate(rank=severity_rank)
        .order_by("rank", "raised_at")
    )
    waiting = list(
        Message.objects.filter(
            thread__enrollment=enrollment,
            thread__waiting_since__isnull=False,
            from_patient=True,
            sent_at__gte=F("thread__waiting_since"),
        )
        .select_related("thread")
        .order_by("sent_at")[:WAITING_SHOWN]
    )
    next_session = (
        Appointment.objects.filter(
            enrollment=enrollment, status=AppointmentStatus.BOOKED, starts_at__gte=now
        )
        .select_related("supporter")
        .order_by("starts_at")
        .first()
    )
    return Attention(
        alerts=alerts,
        scores=latest_scores(by_instrument),
        waiting=waiting,
        waiting_since=waiting[0].thread.waiting_since if waiting else None,
        next_session=next_session,
    )


@dataclass(frozen=True)
class Entry:
    """One thing that happened, in words."""

    at: datetime
    kind: str  # step, mood, score, message, session, alert, step_change, note
    title: str
    detail: str = ""


def timeline(enrollment: Enrollment, *, limit: int = SHOWN) -> list[Entry]:
    """Steps done (with ratings), mood check-ins, scores, messages, sessions, alerts,
    changes of support and care notes, newest first (the caller has checked reach)."""

    entries: list[Entry] = []
    for progress in (
        StepProgress.objects.filter(
            enrollment=enrollment, status=ProgressStatus.COMPLETED, completed_at__isnull=False
        )
        .select_related("step")
        .order_by("-completed_at")[:PER_SOURCE]
    ):
        assert progress.completed_at is not None
        rating = (
            _("rated %(n)s of 5") % {"n": progress.rating} if progress.rating else _("not rated")
        )
        entries.append(
            Entry(
                progress.completed_at,
                "step",
                _("Finished “%(t)s”") % {"t": progress.step.title},
                rating,
            )
        )
    for mood in MoodCheckIn.objects.filter(enrollment=enrollment).order_by("-created_at")[
        :PER_SOURCE
    ]:
        entries.append(
            Entry(mood.created_at, "mood", _("Mood %(n)s of 10") % {"n": mood.score}, mood.note)
        )
    for response in QuestionnaireResponse.objects.filter(enrollment=enrollment).order_by(
        "-submitted_at"
    )[:PER_SOURCE]:
        total = "—" if response.total is None else str(response.total)
        entries.append(
            Entry(
                response.submitted_at,
                "score",
                _("%(code)s: %(total)s") % {"code": response.instrument, "total": total},
                response.band,
            )
        )
    for message in (
        Message.objects.filter(thread__enrollment=enrollment)
        .select_related("sender")
        .order_by("-sent_at")[:PER_SOURCE]
    ):
        who = _("Patient") if message.from_patient else message.sender.display_name
        entries.append(
            Entry(
                message.sent_at, "message", _("Message from %(who)s") % {"who": who}, message.body
            )
        )
    for session in Appointment.objects.filter(enrollment=enrollment).order_by("-starts_at")[
        :PER_SOURCE
    ]:
        entries.append(
            Entry(
                session.starts_at,
                "session",
                _("Session (%(mode)s): %(status)s")
                % {"mode": session.get_mode_display(), "status": session.get_status_display()},
                session.cancel_reason,
            )
        )
    for alert in Alert.objects.filter(enrollment=enrollment).order_by("-raised_at")[:PER_SOURCE]:
        entries.append(
            Entry(
                alert.raised_at,
                "alert",
                _("Alert: %(kind)s (%(state)s)")
                % {"kind": alert.get_kind_display(), "state": alert.get_state_display()},
                alert.reason,
            )
        )
    for change in (
        SteppedCareChange.objects.filter(enrollment=enrollment)
        .select_related("suggested_by", "decided_by")
        .order_by("-suggested_at")[:PER_SOURCE]
    ):
        by = change.suggested_by.display_name if change.suggested_by else _("an alert rule")
        entries.append(
            Entry(
                change.decided_at or change.suggested_at,
                "step_change",
                _("Support %(from)s → %(to)s: %(status)s (suggested by %(by)s)")
                % {
                    "from": change.get_from_level_display(),
                    "to": change.get_to_level_display(),
                    "status": change.get_status_display(),
                    "by": by,
                },
                change.reason,
            )
        )
    for note in (
        CareNote.objects.filter(enrollment=enrollment)
        .select_related("author")
        .order_by("-written_at")[:PER_SOURCE]
    ):
        entries.append(
            Entry(
                note.written_at,
                "note",
                _("Care note by %(who)s") % {"who": note.author.display_name},
                note.body,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


def summary(enrollment: Enrollment) -> dict[str, Any]:
    """Level of support, program, dates and the open suggestion, for the record header/API."""

    pending = (
        SteppedCareChange.objects.filter(enrollment=enrollment, status=StepChangeStatus.SUGGESTED)
        .select_related("suggested_by")
        .first()
    )
    return {"pending_change": pending}
