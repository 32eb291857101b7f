"""Demo availability: the supporters of the simulated clinic open weekly session times,
so a demo patient can book a live session. Idempotent."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from trellis.appointments.models import WeeklySlot
from trellis.appointments.services import add_weekly_slot

# persona, clinic, weekdays (0 = Monday), start, end
DEMO_AVAILABILITY = (
    ("therapist_maria", "riverside", (1, 3), time(9, 0), time(12, 0)),
    ("therapist_sam", "riverside", (0, 2), time(13, 0), time(16, 0)),
    ("coach_jordan", "riverside", (2, 4), time(10, 0), time(12, 0)),
    ("therapist_otto", "hillside", (1, 3), time(9, 0), time(11, 0)),
)


def seed_availability(cast: Any, now: datetime) -> int:
    """Open the demo supporters' weekly session times; returns how many slots it added."""
    added = 0
    for key, clinic_key, weekdays, start, end in DEMO_AVAILABILITY:
        supporter = cast[key]
        clinic = cast.clinics[clinic_key]
        for weekday in weekdays:
            if WeeklySlot.objects.filter(
                supporter=supporter, weekday=weekday, start_time=start
            ).exists():
                continue
            add_weekly_slot(
                supporter,
                actor=supporter,
                organization=clinic,
                weekday=weekday,
                start_time=start,
                end_time=end,
                session_minutes=30,
                time_zone=clinic.time_zone,
                valid_from=now.date(),
                now=now,
            )
            added += 1
    return added
