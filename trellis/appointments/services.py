"""Every write about live sessions: availability, booking, cancelling, rescheduling and
recording attendance. Each function runs in one transaction with its audit row; emails
with calendar invites go out only once the change is committed.

Decisions:
- A session can only be booked at one of the supporter's open times, inside the clinic's
  booking window (by default 12 hours to 30 days ahead). A time that is already taken is
  a `SlotTaken` (the pages and the API answer 409); any other refusal is a
  ValidationError with a plain reason (400 or 422). Nothing is written either way.
- Two people booking the same time at once: the database's unique constraint decides,
  and the loser gets `SlotTaken`.
- Booking is idempotent by the client id the app sends: a repeat returns the same session.
- A patient may cancel or reschedule up to the clinic's notice (by default 24 hours
  before). Their supporter may cancel any session that has not started.
- Rescheduling moves the same session (same calendar UID, higher SEQUENCE), so calendars
  move their entry instead of keeping a stale one.
- A missed session raises a `missed_session` alert for the supporter.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trellis import audit
from trellis.accounts.language import language_for
from trellis.accounts.models import CLINICAL_ROLES, Organization, User
from trellis.accounts.queries import active_memberships
from trellis.alerts.services import raise_alert
from trellis.appointments import ical, queries
from trellis.appointments.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    Mode,
    SessionOptions,
    WeeklySlot,
)
from trellis.care.models import Enrollment
from trellis.care.queries import patient_zone, supporters_of
from trellis.core import timeutil
from trellis.engagement import events
from trellis.engagement.idempotency import once

logger = logging.getLogger(__name__)

MAX_SUPPORT_MINUTES = 600


class SlotTaken(Exception):
    """The time was booked by someone else (answered with 409)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message or _("Sorry, this time has just been booked. Please pick another.")
        )
        self.message = str(self.args[0])


# Availability ---------------------------------------------------------------------------


def _require_clinician(actor: User, organization: Organization) -> None:
    if (
        not active_memberships(actor)
        .filter(organization=organization, role__in=CLINICAL_ROLES)
        .exists()
    ):
        raise PermissionDenied(_("Only clinicians of this clinic keep session availability."))


@transaction.atomic
def add_weekly_slot(
    supporter: User,
    *,
    actor: User,
    organization: Organization,
    weekday: int,
    start_time: time,
    end_time: time,
    session_minutes: int,
    time_zone: str,
    valid_from: date,
    valid_until: date | None = None,
    mode: str = "",
    now: datetime,
) -> WeeklySlot:
    """A supporter opens a weekly window for sessions, in their own time zone."""
    if actor.pk != supporter.pk:
        raise PermissionDenied(_("You can only change your own availability."))
    _require_clinician(actor, organization)
    errors: dict[str, str] = {}
    if not 0 <= weekday <= 6:
        errors["weekday"] = _("Choose a day of the week.")
    if end_time <= start_time:
        errors["end_time"] = _("The end must be after the start.")
    if not 10 <= session_minutes <= 240:
        errors["session_minutes"] = _("A session lasts between 10 and 240 minutes.")
    elif not errors and (
        datetime.combine(date.min, end_time) - datetime.combine(date.min, start_time)
    ) < timedelta(minutes=session_minutes):
        errors["end_time"] = _("The window is shorter than one session.")
    if not timeutil.is_valid_zone(time_zone):
        errors["time_zone"] = _("Use a time zone name such as Europe/Helsinki.")
    if valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = _("The last day must not be before the first.")
    if mode and mode not in Mode.values:
        errors["mode"] = _("Choose video, phone or in person.")
    if errors:
        raise ValidationError(errors)
    slot = WeeklySlot.objects.create(
        supporter=supporter,
        organization=organization,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        session_minutes=session_minutes,
        time_zone=time_zone,
        valid_from=valid_from,
        valid_until=valid_until,
        mode=mode,
    )
    audit.record(
        action="sessions.slot_added",
        actor=actor,
        subject=slot,
        organization=organization,
        details={
            "weekday": weekday,
            "start": start_time.isoformat(),
            "end": end_time.isoformat(),
            "minutes": session_minutes,
            "time_zone": time_zone,
        },
        at=now,
    )
    return slot


@transaction.atomic
def remove_weekly_slot(slot: WeeklySlot, *, actor: User, now: datetime) -> None:
    """A supporter stops offering a weekly window (booked sessions stay booked)."""
    if actor.pk != slot.supporter_id:
        raise PermissionDenied(_("You can only change your own availability."))
    audit.record(
        action="sessions.slot_removed",
        actor=actor,
        subject=slot,
        organization=slot.organization_id,
        details={"weekday": slot.weekday, "start": slot.start_time.isoformat()},
        at=now,
    )
    slot.delete()


@transaction.atomic
def add_exception(
    supporter: User,
    *,
    actor: User,
    day: date,
    start_time: time | None = None,
    end_time: time | None = None,
    reason: str = "",
    now: datetime,
) -> AvailabilityException:
    """A day off, or part of a day, when the weekly windows do not apply."""
    if actor.pk != supporter.pk:
        raise PermissionDenied(_("You can only change your own availability."))
    if (start_time is None) != (end_time is None):
        raise ValidationError(
            {"end_time": _("Give both a start and an end, or neither for the whole day.")}
        )
    if start_time is not None and end_time is not None and end_time <= start_time:
        raise ValidationError({"end_time": _("The end must be after the start.")})
    exception = AvailabilityException.objects.create(
        supporter=supporter,
        date=day,
        start_time=start_time,
        end_time=end_time,
        reason=(reason or "").strip()[:200],
    )
    audit.record(
        action="sessions.exception_added",
        actor=actor,
        subject=exception,
        details={"date": day.isoformat(), "whole_day": start_time is None},
        at=now,
    )
    return exception


@transaction.atomic
def remove_exception(exception: AvailabilityException, *, actor: User, now: datetime) -> None:
    if actor.pk != exception.supporter_id:
        raise PermissionDenied(_("You can only change your own availability."))
    audit.record(
        action="sessions.exception_removed",
        actor=actor,
        subject=exception,
        details={"date": exception.date.isoformat()},
        at=now,
    )
    exception.delete()


@transaction.atomic
def set_session_options(
    supporter: User,
    *,
    actor: User,
    allowed_modes: list[str],
    video_link: str = "",
    place: str = "",
    now: datetime,
) -> SessionOptions:
    """How a supporter meets patients: the ways they offer, their video room, their place."""
    if actor.pk != supporter.pk:
        raise PermissionDenied(_("You can only change your own session options."))
    modes = [m for m in Mode.values if m in set(allowed_modes)]
    if not modes:
        raise ValidationError({"allowed_modes": _("Offer at least one way to meet.")})
    if Mode.VIDEO in modes and not video_link:
        raise ValidationError({"video_link": _("Give the link of your video room.")})
    options, _created = SessionOptions.objects.update_or_create(
        supporter=supporter,
        defaults={"allowed_modes": modes, "video_link": video_link, "place": place.strip()},
    )
    audit.record(
        action="sessions.options_changed",
        actor=actor,
        subject=options,
        details={"modes": modes},
        at=now,
    )
    return options


# Booking --------------------------------------------------------------------------------


def _is_patient(actor: User, enrollment: Enrollment) -> bool:
    return actor.pk == enrollment.patient_id


def _on_care_team(user: User, enrollment: Enrollment) -> bool:
    return supporters_of(enrollment).filter(supporter_id=user.pk).exists()


def _check_time(
    enrollment: Enrollment,
    supporter: User,
    starts_at: datetime,
    *,
    now: datetime,
    moving: Appointment | None = None,
) -> Any:
    """The opening at `starts_at`, or the reason it cannot be booked."""
    timeutil.ensure_aware(starts_at)
    if starts_at <= now:
        raise ValidationError({"starts_at": _("This time has already passed.")})
    rules = queries.rules_for(enrollment.organization_id)
    earliest, latest = queries.bookable_window(rules, now)
    if starts_at < earliest:
        raise ValidationError(
            {
                "starts_at": _("Sessions are booked at least %(hours)s hours ahead.")
                % {"hours": rules.min_notice_hours}
            }
        )
    if starts_at > latest:
        raise ValidationError(
            {
                "starts_at": _("Sessions are booked at most %(days)s days ahead.")
                % {"days": rules.max_days_ahead}
            }
        )
    found = queries.openings(
        supporter,
        organization=enrollment.organization,
        start=starts_at,
        end=starts_at + timedelta(minutes=1),
        now=now,
        ignore=moving,
    )
    if found and found[0].starts_at == starts_at:
        return found[0]
    taken = Appointment.objects.filter(
        supporter=supporter, status=AppointmentStatus.BOOKED, starts_at=starts_at
    )
    if moving is not None:
        taken = taken.exclude(pk=moving.pk)
    if taken.exists():
        raise SlotTaken()
    raise ValidationError({"starts_at": _("This time is not open for booking.")})


def _location(supporter: User, mode: str) -> str:
    options = queries.options_for(supporter)
    if mode == Mode.VIDEO:
        return options.video_link
    if mode == Mode.IN_PERSON:
        return options.place
    return ""


@transaction.atomic
def book(
    enrollment: Enrollment,
    *,
    supporter: User,
    starts_at: datetime,
    mode: str,
    actor: User,
    client_id: Any,
    now: datetime,
) -> Appointment:
    """A patient (or their supporter, for them) books one of the care team's open times."""
    try:
        key = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError({"client_id": _("This is not a valid client id.")}) from None
    if not (_is_patient(actor, enrollment) or _on_care_team(actor, enrollment)):
        raise PermissionDenied(_("Only the patient or their care team book sessions."))
    repeat = Appointment.objects.filter(enrollment=enrollment, client_id=key).first()
    if repeat is not None:
        return repeat
    if not enrollment.is_active:
        raise ValidationError(_("This program has ended, so no new sessions can be booked."))
    if not _on_care_team(supporter, enrollment):
        raise ValidationError({"supporter": _("Choose someone from the care team.")})
    opening = _check_time(enrollment, supporter, starts_at, now=now)
    offered = (
        [opening.mode] if opening.mode else queries.allowed_modes(queries.options_for(supporter))
    )
    if not mode and len(offered) == 1:
        mode = offered[0]
    if mode not in offered:
        raise ValidationError({"mode": _("Choose one of the ways offered for this time.")})
    try:
        with transaction.atomic():
            appointment = Appointment.objects.create(
                enrollment=enrollment,
                supporter=supporter,
                starts_at=opening.starts_at,
                ends_at=opening.ends_at,
                mode=mode,
                location=_location(supporter, mode),
                booked_by=actor,
                client_id=key,
                ical_uid=f"{uuid.uuid4()}@trellis",
            )
    except IntegrityError:
        repeat = Appointment.objects.filter(enrollment=enrollment, client_id=key).first()
        if repeat is not None:
            return repeat
        raise SlotTaken() from None
    audit.record(
        action="sessions.booked",
        actor=actor,
        subject=appointment,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "supporter": str(supporter.pk),
            "starts_at": appointment.starts_at.isoformat(),
            "mode": mode,
        },
        at=now,
    )
    events.emit(enrollment, "appointment_booked", at=now, value=mode)
    _send_invites_on_commit(appointment, kind="booked", now=now)
    return appointment


def _check_change(appointment: Appointment, actor: User, now: datetime, verb: str) -> None:
    enrollment = appointment.enrollment
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError(_("This session is no longer booked."))
    if appointment.starts_at <= now:
        raise ValidationError(_("This session has already started."))
    if _is_patient(actor, enrollment):
        rules = queries.rules_for(enrollment.organization_id)
        if appointment.starts_at - now < timedelta(hours=rules.change_notice_hours):
            raise ValidationError(
                _(
                    "Sessions can be %(verb)s up to %(hours)s hours before. Please send your "
                    "supporter a message instead."
                )
                % {"verb": verb, "hours": rules.change_notice_hours}
            )
    elif actor.pk != appointment.supporter_id and not _on_care_team(actor, enrollment):
        raise PermissionDenied(_("Only the patient or their care team change this session."))


@transaction.atomic
def cancel(appointment: Appointment, *, actor: User, reason: str, now: datetime) -> Appointment:
    """The patient (within the clinic's notice) or the care team cancels a session."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_change(appointment, actor, now, _("cancelled"))
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.cancel_reason = (reason or "").strip()[:300]
    appointment.ical_sequence += 1
    appointment.save(update_fields=["status", "cancelled_at", "cancel_reason", "ical_sequence"])
    by = "patient" if _is_patient(actor, appointment.enrollment) else "supporter"
    audit.record(
        action="sessions.cancelled",
        actor=actor,
        subject=appointment,
        patient=appointment.enrollment.patient_id,
        organization=appointment.enrollment.organization_id,
        details={"by": by, "starts_at": appointment.starts_at.isoformat()},
        at=now,
    )
    events.emit(appointment.enrollment, "appointment_cancelled", at=now, value=by)
    _send_invites_on_commit(appointment, kind="cancelled", now=now)
    return appointment


@transaction.atomic
def reschedule(
    appointment: Appointment,
    *,
    starts_at: datetime,
    actor: User,
    client_id: Any,
    now: datetime,
) -> Appointment:
    """Move a session to another open time of the same supporter (same calendar entry)."""

    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)

    def move() -> dict[str, Any]:
        _check_change(locked, actor, now, _("rescheduled"))
        opening = _check_time(
            locked.enrollment, locked.supporter, starts_at, now=now, moving=locked
        )
        if opening.mode and opening.mode != locked.mode:
            raise ValidationError(
                {
                    "starts_at": _("This time is only for %(mode)s sessions.")
                    % {"mode": Mode(opening.mode).label}
                }
            )
        before = locked.starts_at
        locked.starts_at, locked.ends_at = opening.starts_at, opening.ends_at
        locked.ical_sequence += 1
        # A new time needs a new answer from the patient.
        locked.confirmed_at, locked.confirmed_via = None, ""
        locked.another_time_requested_at, locked.another_time_requested_via = None, ""
        try:
            with transaction.atomic():
                locked.save(
                    update_fields=[
                        "starts_at",
                        "ends_at",
                        "ical_sequence",
                        "confirmed_at",
                        "confirmed_via",
                        "another_time_requested_at",
                        "another_time_requested_via",
                    ]
                )
        except IntegrityError:
            raise SlotTaken() from None
        audit.record(
            action="sessions.rescheduled",
            actor=actor,
            subject=locked,
            patient=locked.enrollment.patient_id,
            organization=locked.enrollment.organization_id,
            details={"from": before.isoformat(), "to": locked.starts_at.isoformat()},
            at=now,
        )
        _send_invites_on_commit(locked, kind="rescheduled", now=now)
        return {"appointment": str(locked.pk)}

    once(user=actor, client_id=client_id, kind="appointment.reschedule", act=move)
    locked.refresh_from_db()
    return locked


REPLY_CHANNELS = ("sms", "link")


def _check_reply(appointment: Appointment, actor: User, via: str, now: datetime) -> None:
    if not _is_patient(actor, appointment.enrollment):
        raise PermissionDenied(_("Only the patient answers for their session."))
    if via not in REPLY_CHANNELS:
        raise ValidationError({"via": _("Answer by text or by the link in a reminder.")})
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError(_("This session is no longer booked."))
    if appointment.starts_at <= now:
        raise ValidationError(_("This session has already started."))


@transaction.atomic
def confirm_by_patient(
    appointment: Appointment, *, actor: User, via: str, now: datetime
) -> Appointment:
    """The patient says they will come, answering a reminder (a text reply C or the link
    in it). Their supporter sees it on their Sessions page. Saying so twice changes nothing."""
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_reply(locked, actor, via, now)
    if locked.confirmed_at is not None:
        return locked
    locked.confirmed_at, locked.confirmed_via = now, via
    locked.save(update_fields=["confirmed_at", "confirmed_via"])
    audit.record(
        action="sessions.confirmed",
        actor=actor,
        subject=locked,
        patient=locked.enrollment.patient_id,
        organization=locked.enrollment.organization_id,
        details={"via": via, "starts_at": locked.starts_at.isoformat()},
        at=now,
    )
    return locked


@transaction.atomic
def ask_for_another_time(
    appointment: Appointment, *, actor: User, via: str, now: datetime
) -> Appointment:
    """The patient asks for another time, answering a reminder (a text reply R or the link
    in it); the session stays booked until they or their supporter move or cancel it, and
    the supporter sees the request on their Sessions page. Asking twice changes nothing."""
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    _check_reply(locked, actor, via, now)
    if locked.another_time_requested_at is not None:
        return locked
    locked.another_time_requested_at, locked.another_time_requested_via = now, via
    locked.save(update_fields=["another_time_requested_at", "another_time_requested_via"])
    audit.record(
        action="sessions.another_time_requested",
        actor=actor,
        subject=locked,
        patient=locked.enrollment.patient_id,
        organization=locked.enrollment.organization_id,
        details={"via": via, "starts_at": locked.starts_at.isoformat()},
        at=now,
    )
    return locked


@transaction.atomic
def record_attendance(
    appointment: Appointment,
    *,
    attended: bool,
    actor: User,
    minutes: int | None,
    now: datetime,
) -> Appointment:
    """The supporter records afterwards whether the patient came, and minutes of support."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    enrollment = appointment.enrollment
    if actor.pk != appointment.supporter_id and not _on_care_team(actor, enrollment):
        raise PermissionDenied(_("Only the care team records attendance."))
    if appointment.status != AppointmentStatus.BOOKED:
        raise ValidationError(_("Attendance for this session has already been recorded."))
    if appointment.starts_at > now:
        raise ValidationError(_("Attendance can be recorded once the session has started."))
    if attended:
        if minutes is None or not 0 < minutes <= MAX_SUPPORT_MINUTES:
            raise ValidationError({"minutes": _("Give the minutes of support, between 1 and 600.")})
    else:
        minutes = None
    appointment.status = AppointmentStatus.ATTENDED if attended else AppointmentStatus.NO_SHOW
    appointment.attendance_recorded_at = now
    appointment.support_minutes = minutes
    appointment.save(update_fields=["status", "attendance_recorded_at", "support_minutes"])
    audit.record(
        action="sessions.attendance",
        actor=actor,
        subject=appointment,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"attended": attended, "minutes": minutes},
        at=now,
    )
    if attended:
        length = int((appointment.ends_at - appointment.starts_at).total_seconds())
        events.emit(
            enrollment,
            "appointment_attended",
            at=appointment.starts_at,
            duration_s=length,
            value=str(minutes),
        )
    else:
        events.emit(enrollment, "appointment_missed", at=appointment.starts_at)

        when = appointment.starts_at.astimezone(
            queries.supporter_zone(appointment.supporter, enrollment.organization)
        )
        raise_alert(
            enrollment,
            kind="missed_session",
            severity="medium",
            reason=_("Missed the live session on %(when)s") % {"when": _when(when)},
            data={
                "appointment": str(appointment.pk),
                "starts_at": appointment.starts_at.isoformat(),
                "mode": appointment.mode,
            },
            assigned_to=appointment.supporter,
            now=now,
            actor=actor,
        )
    return appointment


# Emails ---------------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    day = f"{date_format(moment, 'l')} {date_format(moment, 'DATE_FORMAT')}"
    return f"{day}, {date_format(moment, 'TIME_FORMAT')}"


SUBJECTS = {
    "booked": (
        gettext_noop("Your session is booked"),
        gettext_noop("A session was booked with you"),
    ),
    "rescheduled": (
        gettext_noop("Your session has moved"),
        gettext_noop("A session with you has moved"),
    ),
    "cancelled": (
        gettext_noop("Your session is cancelled"),
        gettext_noop("A session with you was cancelled"),
    ),
}


def _send_invites_on_commit(appointment: Appointment, *, kind: str, now: datetime) -> None:
    pk = appointment.pk

    def send() -> None:
        try:
            send_invites(Appointment.objects.get(pk=pk), kind=kind, now=now)
        except Exception:  # a mail server problem must never undo or break a booking
            logger.exception("could not send the %s invites for session %s", kind, pk)

    transaction.on_commit(send)


def send_invites(appointment: Appointment, *, kind: str, now: datetime) -> None:
    """Email the patient and the supporter each their own copy with a calendar invite."""

    enrollment = appointment.enrollment
    patient, supporter = enrollment.patient, appointment.supporter
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    copies = (
        (patient, patient_zone(enrollment), False),
        (supporter, queries.supporter_zone(supporter, enrollment.organization), True),
    )
    for person, zone, for_supporter in copies:
        # Each copy in its reader's language (else the clinic's).
        with translation.override(language_for(person, enrollment.organization.locale)):
            if not person.email:
                continue
            local = appointment.starts_at.astimezone(zone)
            subject = _(SUBJECTS[kind][1 if for_supporter else 0])
            lines = [
                _("Hello %(name)s,") % {"name": ical.first_name(person)},
                "",
                _("%(what)s: %(summary)s, %(when)s (%(zone)s), %(minutes)s minutes.")
                % {
                    "what": subject,
                    "summary": ical.summary(appointment, for_supporter=for_supporter),
                    "when": _when(local),
                    "zone": str(zone),
                    "minutes": int((appointment.ends_at - appointment.starts_at).seconds // 60),
                },
                _("How: %(mode)s.") % {"mode": appointment.get_mode_display()},
            ]
            if appointment.location and kind != "cancelled":
                lines.append(_("Where: %(place)s") % {"place": appointment.location})
            lines += [
                "",
                _("The calendar file attached updates your calendar."),
                _("You can see and change your sessions in Trellis."),
            ]
            message = EmailMessage(subject=subject, body="\n".join(lines), to=[person.email])
            message.attach(
                "session.ics",
                ical.invite(appointment, method=method, for_supporter=for_supporter, now=now),
                f"text/calendar; method={method}",
            )
            message.send()
