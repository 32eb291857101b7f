"""Building blocks for session tests: patient_alex enrolled with therapist_maria, who takes
sessions on Wednesday mornings (New York time) by video or phone; or, for tests that run
at the current time (the authorization matrix, the browser test), every day in UTC."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from email.message import Message
from typing import Any

from icalendar import Calendar

from trellis.appointments import services
from trellis.appointments.models import Appointment, AppointmentStatus, WeeklySlot
from trellis.appointments.queries import OpenTime, open_times_for
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


def maria_every_day(cast: Any) -> Enrollment:
    """patient_alex enrolled with therapist_maria, who takes 60-minute sessions every day
    from 08:00 to 20:00 UTC (made once through the services)."""
    enrollment = enroll_alex(cast)
    maria = cast["therapist_maria"]
    if not WeeklySlot.objects.filter(supporter=maria).exists():
        now = timeutil.now()
        services.set_session_options(
            maria,
            actor=maria,
            allowed_modes=["video", "phone"],
            video_link="https://video.example.org/maria",
            now=now,
        )
        for weekday in range(7):
            services.add_weekly_slot(
                maria,
                actor=maria,
                organization=enrollment.organization,
                weekday=weekday,
                start_time=time(8, 0),
                end_time=time(20, 0),
                session_minutes=60,
                time_zone="UTC",
                valid_from=(now - timedelta(days=7)).date(),
                now=now,
            )
    return enrollment


def open_times_ahead(cast: Any) -> list[OpenTime]:
    """The times patient_alex may book with therapist_maria in the next 14 days."""
    enrollment = maria_every_day(cast)
    now = timeutil.now()
    return open_times_for(enrollment, start=now, end=now + timedelta(days=14), now=now)


def alex_booked_session(cast: Any) -> Appointment:
    """A video session patient_alex booked with therapist_maria, two days or more ahead."""
    enrollment = maria_every_day(cast)
    existing = Appointment.objects.filter(
        enrollment=enrollment, status=AppointmentStatus.BOOKED
    ).first()
    if existing is not None:
        return existing
    now = timeutil.now()
    later = [t for t in open_times_ahead(cast) if t.starts_at > now + timedelta(days=2)]
    return services.book(
        enrollment,
        supporter=cast["therapist_maria"],
        starts_at=later[0].starts_at,
        mode="video",
        actor=cast["patient_alex"],
        client_id=uuid.uuid4(),
        now=now,
    )


def calendar_parts(mail: Any) -> list[tuple[Message, Calendar]]:
    """Every text/calendar part of a captured mail, parsed."""
    found = []
    for part in mail.message.walk():
        if part.get_content_type() == "text/calendar":
            found.append((part, Calendar.from_ical(part.get_payload(decode=True))))
    return found
