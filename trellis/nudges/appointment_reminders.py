"""Reminders of a booked live session, 24 hours and 1 hour before, that the patient can
answer: by a text reply (C to confirm, R for another time, X to cancel; `replies`) or by
the one-tap link in the reminder, which opens a page that works without signing in.

`due_appointment_reminders(now)` runs on the clock (every few minutes). It is set-based: one
query finds the booked sessions whose reminder is due and not yet queued, one finds the
reminders already queued for them; each new reminder goes through `services.queue_nudge`
as a transactional nudge (not counted against the caps, still stopped by STOP and quiet
hours) with the key (session, 24h or 1h, calendar sequence), so a rescheduled session gets
fresh reminders and a repeated run queues nothing twice. Reminders still queued for a
session that was cancelled or moved since are suppressed ("session_changed").

The words never name the kind of care: "your session", the day and time in the patient's
own time zone, and how to answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.db.models import Q
from django.urls import reverse
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.appointments.queries import supporter_zone
from trellis.care.queries import patient_zone
from trellis.nudges import messages, phones, services, tokens
from trellis.nudges.channels import sender_for
from trellis.nudges.channels.base import Message
from trellis.nudges.models import Channel, Delivery, DeliveryStatus, ReminderRule

TEMPLATE_24H = "appointment_24h"
TEMPLATE_1H = "appointment_1h"
TEMPLATE_ANOTHER_TIME = "another_time_asked"
TEMPLATES = (TEMPLATE_24H, TEMPLATE_1H)
ANSWER_SALT = "trellis.nudges.session-answer"


@dataclass(frozen=True)
class Lead:
    """One reminder: how long before the session it goes, the least time left for it to be
    worth sending, and the template."""

    name: str
    template: str
    before: timedelta
    at_least: timedelta


LEADS = (
    # The day-before reminder is not sent once the hour-before one is due.
    Lead("24h", TEMPLATE_24H, timedelta(hours=24), timedelta(hours=1)),
    Lead("1h", TEMPLATE_1H, timedelta(hours=1), timedelta(minutes=5)),
)


def reminder_key(appointment: Appointment, lead: Lead) -> str:
    return f"appointment:{appointment.pk}:{lead.name}:{appointment.ical_sequence}"


# One-tap answers ----------------------------------------------------------------------


def _signer() -> signing.Signer:
    return signing.Signer(salt=ANSWER_SALT, algorithm="sha256")


def answer_token(appointment: Appointment, *, sequence: int | None = None) -> str:
    """A signed token for the answer page of this session at its current time (short, for
    a text: the session id, its calendar sequence and the signature)."""
    if sequence is None:
        sequence = appointment.ical_sequence
    return _signer().sign(f"{uuid.UUID(str(appointment.pk)).hex}.{sequence}")


def read_answer_token(token: str) -> tuple[uuid.UUID, int]:
    """(session id, calendar sequence) of a valid token; signing.BadSignature otherwise."""
    try:
        value = _signer().unsign(token)
        session, _dot, sequence = value.partition(".")
        return uuid.UUID(hex=session), int(sequence)
    except (TypeError, ValueError) as error:
        raise signing.BadSignature("not a session answer token") from error


def answer_path(appointment: Appointment) -> str:
    return reverse("nudges_sms:answer", args=[answer_token(appointment)])


def answer_url(appointment: Appointment) -> str:
    return tokens.absolute(answer_path(appointment))


# What the reminder says ---------------------------------------------------------------


def when_words(appointment: Appointment) -> str:
    """The session's day and time in the patient's zone, in the active language."""
    local = appointment.starts_at.astimezone(patient_zone(appointment.enrollment))
    day = f"{date_format(local, 'l')} {date_format(local, 'MONTH_DAY_FORMAT')}"
    return _("%(day)s at %(time)s") % {"day": day, "time": time_format(local, "H:i")}


def _appointment_of(delivery: Delivery) -> Appointment:
    if delivery.appointment_id is None:
        raise LookupError(f"{delivery.template} needs a session (delivery {delivery.pk})")
    return Appointment.objects.select_related("enrollment__organization", "supporter").get(
        pk=delivery.appointment_id
    )


def _build(delivery: Delivery, lead: Lead) -> Message:
    appointment = _appointment_of(delivery)
    changed = appointment.status != AppointmentStatus.BOOKED or appointment.ical_sequence != (
        delivery.context or {}
    ).get("sequence")
    if changed and delivery.status == DeliveryStatus.QUEUED:
        # Cancelled or moved since it was queued (and the sweep has not caught it yet):
        # not worth sending. Once sent, the message still renders for its opening link.
        raise LookupError("session_changed")
    when = when_words(appointment)
    link = answer_url(appointment)
    how = _("Reply C to confirm, R for another time, X to cancel")
    if lead.name == "1h":
        subject = _("Your session starts in an hour")
        first = _("Your session starts in about an hour, %(when)s.") % {"when": when}
    else:
        subject = _("Reminder of your session")
        first = _("A reminder of your session on %(when)s.") % {"when": when}
    or_tap = _("Or tap:")
    short = f"{first} {how}. {or_tap} {link}"
    text = "\n\n".join(
        [
            _("Hello,"),
            first,
            _(
                "Can you come? Confirm, ask for another time or cancel on this page, "
                "without signing in: %(link)s"
            )
            % {"link": link},
            _("If you chose text messages, you can also reply to our text: %(how)s.")
            % {"how": how},
        ]
    )
    return Message(subject=subject, text=text, html="", short=short, link=answer_path(appointment))


def build_24h(delivery: Delivery) -> Message:
    return _build(delivery, LEADS[0])


def build_1h(delivery: Delivery) -> Message:
    return _build(delivery, LEADS[1])


def build_another_time_asked(delivery: Delivery) -> Message:
    """To the supporter: a patient answered a reminder asking for another time."""
    values = {
        "name": str(delivery.context.get("patient_name", "")),
        "when": str(delivery.context.get("when", "")),
    }
    text = _("%(name)s asked for another time for the session on %(when)s.") % values
    return Message(
        subject=_("A patient asked for another session time"),
        text=text,
        html="",
        short=_("A patient asked for another session time."),
        link=reverse("sessions:clinic"),
    )


messages.register(TEMPLATE_24H, build_24h)
messages.register(TEMPLATE_1H, build_1h)
messages.register(TEMPLATE_ANOTHER_TIME, build_another_time_asked)


def tell_supporter_another_time(appointment: Appointment, *, at: datetime) -> list[Delivery]:
    """The session's supporter finds an in-app notification that the patient asked for
    another time (once per session time), besides the answer on their Sessions page."""
    supporter = appointment.supporter
    organization = appointment.enrollment.organization
    local = appointment.starts_at.astimezone(supporter_zone(supporter, organization))
    rows = services.queue_nudge(
        recipient=supporter,
        organization=organization,
        template=TEMPLATE_ANOTHER_TIME,
        context={
            "patient_name": appointment.enrollment.patient.display_name,
            "when": f"{date_format(local, 'D j M')} {time_format(local, 'H:i')}",
        },
        key=f"another_time:{appointment.pk}:{appointment.ical_sequence}",
        channels=[Channel.IN_APP],
        not_before=at,
        transactional=True,
    )
    for row in rows:
        if row.status == DeliveryStatus.QUEUED:
            # In-app interrupts nobody, so it waits for no hours (as services.tell_supporters).
            outcome = sender_for(Channel.IN_APP).send(row, messages.render(row))
            services.record_outcome(row, outcome, at=at)
    return rows


# What is due ---------------------------------------------------------------------------


def _due(lead: Lead, now: datetime) -> list[Appointment]:
    """Booked sessions inside this lead's window with no reminder queued at their current
    calendar sequence (three queries, whatever the number of sessions). A clinic that
    turned this reminder off (its clinic-wide rule disabled) gets none."""
    switched_off = ReminderRule.objects.filter(
        kind=lead.template, program_key="", enabled=False
    ).values("organization_id")
    candidates = list(
        Appointment.objects.filter(
            status=AppointmentStatus.BOOKED,
            starts_at__gt=now + lead.at_least,
            starts_at__lte=now + lead.before,
            enrollment__ended_at__isnull=True,
        )
        .exclude(enrollment__organization_id__in=switched_off)
        .select_related("enrollment__organization", "enrollment__patient")
    )
    if not candidates:
        return []
    queued = {
        (appointment_id, (context or {}).get("sequence"))
        for appointment_id, context in Delivery.objects.filter(
            appointment_id__in=[a.pk for a in candidates], template=lead.template
        ).values_list("appointment_id", "context")
    }
    return [a for a in candidates if (a.pk, a.ical_sequence) not in queued]


def suppress_stale(now: datetime) -> int:
    """Reminders still queued for a session that was cancelled or moved since: suppressed."""
    waiting = list(
        Delivery.objects.filter(
            status=DeliveryStatus.QUEUED, template__in=TEMPLATES, appointment_id__isnull=False
        ).values_list("pk", "appointment_id", "context")
    )
    if not waiting:
        return 0
    current: dict[uuid.UUID | None, int] = {
        pk: sequence
        for pk, sequence in Appointment.objects.filter(
            pk__in={a for _pk, a, _c in waiting}, status=AppointmentStatus.BOOKED
        ).values_list("pk", "ical_sequence")
    }
    stale = [
        pk
        for pk, appointment_id, context in waiting
        if current.get(appointment_id) != (context or {}).get("sequence")
    ]
    if not stale:
        return 0
    return Delivery.objects.filter(pk__in=stale, status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.SUPPRESSED, reason="session_changed", updated_at=now
    )


def due_appointment_reminders(now: datetime) -> int:
    """Queue every appointment reminder that is due at `now`; returns how many sessions
    got a reminder queued (a repeat at the same moment queues none)."""
    suppress_stale(now)
    due = [(lead, appointment) for lead in LEADS for appointment in _due(lead, now)]
    if not due:
        return 0
    phones.refresh_phone_index({a.enrollment.patient for _lead, a in due})
    for lead, appointment in due:
        enrollment = appointment.enrollment
        services.queue_nudge(
            recipient=enrollment.patient,
            organization=enrollment.organization,
            template=lead.template,
            context={"sequence": appointment.ical_sequence, "lead": lead.name},
            key=reminder_key(appointment, lead),
            enrollment=enrollment,
            appointment_id=appointment.pk,
            not_before=max(now, appointment.starts_at - lead.before),
            expires_at=appointment.starts_at
            - (LEADS[1].before if lead.name == "24h" else timedelta(0)),
            transactional=True,
        )
    return len(due)


def upcoming_for(user_ids: list[uuid.UUID], now: datetime) -> Appointment | None:
    """The next booked session of any of these patients (a shared phone may name two)."""
    return (
        Appointment.objects.filter(
            Q(enrollment__patient_id__in=user_ids),
            status=AppointmentStatus.BOOKED,
            starts_at__gt=now,
        )
        .select_related("enrollment__organization", "enrollment__patient", "supporter")
        .order_by("starts_at")
        .first()
    )
