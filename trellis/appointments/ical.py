"""Calendar invites (RFC 5545) for live sessions, attached to the confirmation emails.

One event per appointment, identified by `Appointment.ical_uid` for its whole life, so a
calendar moves or removes the same entry when the session is rescheduled or cancelled;
`SEQUENCE` (Appointment.ical_sequence) grows with every change. Times are in UTC.

The supporter's copy names the patient by first name only: calendars are often shared
with colleagues or synced to phones, and a full name there says too much.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from trellis.appointments.models import Appointment, Mode
from trellis.core import timeutil

PRODID = "-//Trellis//Live sessions//EN"


def first_name(user: object) -> str:
    """What the supporter's calendar may say about the patient."""
    preferred = getattr(user, "preferred_name", "") or ""
    full = getattr(user, "full_name", "") or ""
    return (preferred or full).split(" ")[0] or _("your patient")


def summary(appointment: Appointment, *, for_supporter: bool) -> str:
    if for_supporter:
        return _("Session with %(name)s") % {"name": first_name(appointment.enrollment.patient)}
    return _("Session with %(name)s") % {"name": appointment.supporter.display_name}


def invite(appointment: Appointment, *, method: str, for_supporter: bool, now: datetime) -> bytes:
    """The calendar file: METHOD:REQUEST for a new or moved session, CANCEL for a cancelled
    one."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported calendar method {method!r}")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", appointment.ical_uid)
    event.add("sequence", appointment.ical_sequence)
    event.add("dtstamp", now.astimezone(timeutil.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(timeutil.UTC))
    event.add("dtend", appointment.ends_at.astimezone(timeutil.UTC))
    event.add("summary", summary(appointment, for_supporter=for_supporter))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if appointment.mode == Mode.VIDEO and appointment.location:
        event.add("location", appointment.location)
        event.add("url", appointment.location)
    elif appointment.mode == Mode.IN_PERSON and appointment.location:
        event.add("location", appointment.location)
    elif appointment.mode == Mode.PHONE:
        event.add("location", _("Phone call"))
    event.add(
        "description",
        _("A live session in Trellis (%(mode)s).") % {"mode": appointment.get_mode_display()},
    )
    organizer = vCalAddress(f"mailto:{appointment.supporter.email}")
    organizer.params["cn"] = vText(appointment.supporter.display_name)
    event.add("organizer", organizer)
    for person, name in (
        (appointment.supporter, appointment.supporter.display_name),
        (appointment.enrollment.patient, first_name(appointment.enrollment.patient)),
    ):
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
