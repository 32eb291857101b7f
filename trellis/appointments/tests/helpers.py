"""Building blocks for session tests: patient_alex enrolled with therapist_maria, who takes
sessions on Wednesday mornings (New York time) by video or phone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from email.message import Message
from typing import Any

from icalendar import Calendar

from trellis.appointments import services
from trellis.appointments.models import WeeklySlot
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex

UTC = timeutil.UTC
# Monday 1 June 2026, 08:00 UTC (04:00 in New York).
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
# Wednesday 3 June 2026, 09:00 in New York (EDT, UTC-4).
WEDNESDAY_9 = datetime(2026, 6, 3, 13, 0, tzinfo=UTC)
VIDEO_LINK = "https://video.example.org/room/maria"


def wednesday_mornings(
    cast: Any, *, now: datetime = NOW, valid_from: date | None = None
) -> WeeklySlot:
    """Maria's weekly slot (Wednesdays 09:00-12:00 New York, 60-minute sessions)."""
    maria = cast["therapist_maria"]
    services.set_session_options(
        maria, actor=maria, allowed_modes=["video", "phone"], video_link=VIDEO_LINK, now=now
    )
    return services.add_weekly_slot(
        maria,
        actor=maria,
        organization=cast["therapist_maria"].memberships.first().organization,
        weekday=2,
        start_time=time(9, 0),
        end_time=time(12, 0),
        session_minutes=60,
        time_zone="America/New_York",
        valid_from=valid_from or (now - timedelta(days=7)).date(),
        now=now,
    )


def alex_with_maria(cast: Any, *, now: datetime = NOW) -> Enrollment:
    enrollment = enroll_alex(cast, now=now - timedelta(days=3))
    wednesday_mornings(cast, now=now)
    return enrollment


def calendar_parts(mail: Any) -> list[tuple[Message, Calendar]]:
    """Every text/calendar part of a captured mail, parsed."""
    found = []
    for part in mail.message.walk():
        if part.get_content_type() == "text/calendar":
            found.append((part, Calendar.from_ical(part.get_payload(decode=True))))
    return found
