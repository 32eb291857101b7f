"""Reads about live sessions: open times, who may be booked, upcoming sessions, and reach.

Reach follows the enrollment: a session is visible to whoever may open its enrollment
(trellis.care.queries.enrollments_for), so a patient sees their own sessions, their care
team and the clinic's supervisors see the patient's, and nobody else sees any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from trellis.accounts.models import CLINICAL_ROLES, Organization, User
from trellis.accounts.queries import active_memberships, get_or_404
from trellis.appointments.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    BookingRules,
    Mode,
    SessionOptions,
    WeeklySlot,
)
from trellis.appointments.slots import Closed, Opening, Weekly, expand
from trellis.care.models import Enrollment
from trellis.care.queries import enrollments_for, supporters_of
from trellis.core import timeutil

DEFAULT_RULES = BookingRules(min_notice_hours=12, max_days_ahead=30, change_notice_hours=24)


def rules_for(organization: Organization | Any) -> BookingRules:
    """The clinic's booking rules, or the defaults (12 hours to 30 days ahead; changes up to
    24 hours before)."""
    org_id: Any = getattr(organization, "pk", organization)
    return BookingRules.objects.filter(organization_id=org_id).first() or DEFAULT_RULES


def options_for(supporter: User) -> SessionOptions:
    """How the supporter meets patients (all three ways, no link or place, until set)."""
    found = SessionOptions.objects.filter(supporter=supporter).first()
    return found or SessionOptions(supporter=supporter, allowed_modes=[])


def allowed_modes(options: SessionOptions) -> list[str]:
    chosen = [m for m in (options.allowed_modes or []) if m in Mode.values]
    return chosen or list(Mode.values)


def supporter_zone(supporter: User, organization: Organization) -> ZoneInfo:
    """The zone the supporter keeps their availability in (their latest slot's), else the
    clinic's."""
    name = (
        WeeklySlot.objects.filter(supporter=supporter, organization=organization)
        .order_by("-created_at")
        .values_list("time_zone", flat=True)
        .first()
    ) or organization.time_zone
    try:
        return timeutil.zone(name)
    except ValueError:
        return timeutil.UTC


def bookable_window(rules: BookingRules, now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest start a patient may book at `now` under the clinic's rules."""
    return (
        now + timedelta(hours=rules.min_notice_hours),
        now + timedelta(days=rules.max_days_ahead),
    )


def openings(
    supporter: User,
    *,
    organization: Organization,
    start: datetime,
    end: datetime,
    now: datetime,
    ignore: Appointment | None = None,
) -> list[Opening]:
    """Sessions the supporter has open in [start, end) at this clinic, inside the booking
    window at `now`. `ignore` leaves one booking out (the one being moved)."""
    earliest, latest = bookable_window(rules_for(organization), now)
    start, end = max(start, earliest), min(end, latest)
    if start >= end:
        return []
    weekly = [
        Weekly(
            weekday=s.weekday,
            start=s.start_time,
            end=s.end_time,
            minutes=s.session_minutes,
            time_zone=s.time_zone,
            valid_from=s.valid_from,
            valid_until=s.valid_until,
            mode=s.mode,
        )
        for s in WeeklySlot.objects.filter(supporter=supporter, organization=organization)
    ]
    if not weekly:
        return []
    margin = timedelta(days=2)
    closed = [
        Closed(e.date, e.start_time, e.end_time)
        for e in AvailabilityException.objects.filter(
            supporter=supporter,
            date__gte=(start - margin).date(),
            date__lte=(end + margin).date(),
        )
    ]
    taken = Appointment.objects.filter(
        supporter=supporter,
        status=AppointmentStatus.BOOKED,
        starts_at__lt=end + margin,
        ends_at__gt=start - margin,
    )
    if ignore is not None:
        taken = taken.exclude(pk=ignore.pk)
    booked = list(taken.values_list("starts_at", "ends_at"))
    return expand(weekly, closed, start=start, end=end, booked=booked)


def open_slots(
    supporter: User,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    organization: Organization | None = None,
) -> list[datetime]:
    """Start times (UTC) a patient may book with the supporter in [start, end) at `now`."""
    orgs = (
        [organization]
        if organization is not None
        else list(Organization.objects.filter(pk__in=supporter.slots.values("organization_id")))
    )
    found: set[datetime] = set()
    for org in orgs:
        found |= {
            o.starts_at
            for o in openings(supporter, organization=org, start=start, end=end, now=now)
        }
    return sorted(found)


@dataclass(frozen=True)
class OpenTime:
    """One bookable session with one supporter of the patient's care team."""

    supporter: User
    starts_at: datetime
    ends_at: datetime
    modes: list[str]


def open_times_for(
    enrollment: Enrollment,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    ignore: Appointment | None = None,
) -> list[OpenTime]:
    """Every open session with the enrollment's active care team, earliest first."""
    found: list[OpenTime] = []
    for member in supporters_of(enrollment):
        supporter = member.supporter
        modes = allowed_modes(options_for(supporter))
        for opening in openings(
            supporter,
            organization=enrollment.organization,
            start=start,
            end=end,
            now=now,
            ignore=ignore,
        ):
            found.append(
                OpenTime(
                    supporter=supporter,
                    starts_at=opening.starts_at,
                    ends_at=opening.ends_at,
                    modes=[opening.mode] if opening.mode else modes,
                )
            )
    found.sort(key=lambda t: (t.starts_at, t.supporter.full_name))
    return found


def appointments_for(user: Any) -> QuerySet[Appointment]:
    """Sessions whose enrollment is in the person's reach."""
    return Appointment.objects.filter(
        enrollment__in=enrollments_for(user).values("pk")
    ).select_related("enrollment__patient", "enrollment__organization", "supporter")


def access_appointment(user: Any, pk: Any) -> Appointment:
    """One session in reach, or 404."""
    appointment: Appointment = get_or_404(appointments_for(user), pk)
    return appointment


def upcoming_for(enrollment: Enrollment, now: datetime) -> QuerySet[Appointment]:
    """The enrollment's booked sessions that have not ended yet, soonest first."""
    return (
        Appointment.objects.filter(
            enrollment=enrollment, status=AppointmentStatus.BOOKED, ends_at__gt=now
        )
        .select_related("supporter")
        .order_by("starts_at")
    )


def supporter_upcoming(supporter: User, now: datetime) -> QuerySet[Appointment]:
    """The supporter's own booked sessions still to come."""
    return (
        Appointment.objects.filter(
            supporter=supporter, status=AppointmentStatus.BOOKED, ends_at__gt=now
        )
        .select_related("enrollment__patient")
        .order_by("starts_at")
    )


def awaiting_attendance(supporter: User, now: datetime) -> QuerySet[Appointment]:
    """The supporter's sessions that have started and still need attendance recorded."""
    return (
        Appointment.objects.filter(
            supporter=supporter, status=AppointmentStatus.BOOKED, starts_at__lte=now
        )
        .select_related("enrollment__patient")
        .order_by("starts_at")
    )


def sessions_to_come(supporter: User, now: datetime) -> QuerySet[Appointment]:
    """The supporter's booked sessions that have not started yet, soonest first."""
    return supporter_upcoming(supporter, now).filter(starts_at__gt=now)


def clinical_clinic(user: Any) -> Organization | None:
    """The clinic where the person sees patients as a coach, therapist or supervisor (the
    first one, if several); None for anyone else."""
    membership = (
        active_memberships(user)
        .filter(role__in=CLINICAL_ROLES)
        .select_related("organization")
        .first()
    )
    return membership.organization if membership is not None else None


def weekly_slots_of(supporter: User, organization: Organization) -> list[WeeklySlot]:
    """The supporter's weekly times at the clinic."""
    return list(WeeklySlot.objects.filter(supporter=supporter, organization=organization))


def days_off_of(supporter: User, since: date) -> list[AvailabilityException]:
    """The supporter's days off from `since` on."""
    return list(AvailabilityException.objects.filter(supporter=supporter, date__gte=since))


def access_own_slot(supporter: User, pk: Any) -> WeeklySlot:
    """One of the supporter's own weekly times, or 404."""
    slot = WeeklySlot.objects.filter(pk=pk, supporter=supporter).first()
    if slot is None:
        raise Http404(_("There is no such weekly time of yours."))
    return slot


def access_own_day_off(supporter: User, pk: Any) -> AvailabilityException:
    """One of the supporter's own days off, or 404."""
    exception = AvailabilityException.objects.filter(pk=pk, supporter=supporter).first()
    if exception is None:
        raise Http404(_("There is no such day off of yours."))
    return exception


def access_own_appointment(patient: User, pk: Any) -> Appointment:
    """One of the patient's own sessions, or 404."""
    appointment = (
        Appointment.objects.filter(pk=pk, enrollment__patient=patient)
        .select_related("enrollment__organization", "supporter")
        .first()
    )
    if appointment is None:
        raise Http404(_("There is no such session for you."))
    return appointment


def appointments_of(enrollment: Enrollment) -> QuerySet[Appointment]:
    """Every session of the enrollment, booked or past, soonest first."""
    return (
        Appointment.objects.filter(enrollment=enrollment)
        .select_related("supporter")
        .order_by("starts_at")
    )


def already_booked(enrollment: Enrollment, client_id: Any) -> bool:
    """Whether a booking with this client id was already made (a retry of it)."""
    return Appointment.objects.filter(enrollment=enrollment, client_id=client_id).exists()


def find_supporter(pk: Any) -> User | None:
    """The person a booking names as the supporter (None if there is nobody by that id;
    `services.book` checks they are in the patient's care team)."""
    return User.objects.filter(pk=pk).first()
