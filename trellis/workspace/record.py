"""The patient record as the care team reads it: one timeline of everything, newest first.

Each source is read with its own bounded query (the newest PER_SOURCE rows), then merged,
so the page costs the same whatever the length of the treatment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from trellis.alerts.models import Alert
from trellis.appointments.models import Appointment
from trellis.care.models import CareNote, Enrollment, StepChangeStatus, SteppedCareChange
from trellis.journey.models import MoodCheckIn, ProgressStatus, StepProgress
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.models import Message

PER_SOURCE = 40
SHOWN = 120


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
