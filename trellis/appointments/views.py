"""Session pages: the patient's "Sessions" (book, cancel, reschedule) and the staff
"Sessions" (my upcoming sessions, attendance, availability).

Views stay thin: find the patient's enrollment or check reach, call one service, render.
Times show in the reader's zone: the patient's own zone on patient pages, the zone of
the supporter's availability on staff pages.

Booking goes day, then time, then confirm, each a page of its own that works without
JavaScript: "Sessions" lists the days with free times (a link each), the day's page lists
its times (a link each), and the confirm page holds the one form that books.

Decisions:
- A taken time answers 409 and a refused one 400, with the reason at the top of the
  page and nothing written. A taken time also offers the nearest free times, so the
  patient picks again in one tap instead of starting over.
- The day and confirm pages read their choice from the query string (`?day=2026-12-09`,
  `?supporter=<id>&starts_at=<ISO 8601>`): a malformed one is 400 with the days to pick
  from, a missing one starts at the first free day (or goes back to "Sessions").
- Patient pages are for patients (staff get 403); staff pages are for coaches, therapists
  and supervisors (other roles get 403). A session outside a person's reach is 404.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trellis.accounts import guards
from trellis.accounts.models import User
from trellis.appointments import queries, services
from trellis.appointments.forms import (
    WEEKDAYS,
    AttendanceForm,
    BookForm,
    CancelForm,
    ChooseTimeForm,
    DayForm,
    ExceptionForm,
    OptionsForm,
    RescheduleForm,
    SlotForm,
)
from trellis.appointments.models import Mode
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care.models import Enrollment
from trellis.care.queries import current_enrollment, patient_zone
from trellis.core import timeutil
from trellis.core.errors import add_to_form

# Helpers ------------------------------------------------------------------------------


def _clinician(request: HttpRequest) -> tuple[User, Any]:
    user = request.user
    organization = queries.clinical_clinic(user) if isinstance(user, User) else None
    if organization is None:
        raise PermissionDenied(_("This page is for clinicians."))
    assert isinstance(user, User)
    return user, organization


def _zone(enrollment: Enrollment) -> tzinfo:

    return patient_zone(enrollment)


def _refusal(error: ValidationError) -> list[str]:
    return [str(m) for m in error.messages]


def _by_day(times: list[queries.OpenTime], zone: tzinfo) -> list[tuple[date, list[Any]]]:
    """Open times grouped by the reader's calendar day, each with its own client id (so a
    double submit books once) and the ways to meet offered."""
    days: OrderedDict[date, list[Any]] = OrderedDict()
    for t in times:
        days.setdefault(t.starts_at.astimezone(zone).date(), []).append(
            {
                "time": t,
                "starts_at": t.starts_at.isoformat(),
                "client_id": uuid.uuid4(),
                "choices": [(m, str(Mode(m).label)) for m in t.modes],
            }
        )
    return list(days.items())


def _open_times(enrollment: Enrollment, now: datetime) -> list[queries.OpenTime]:
    return queries.open_times_for(enrollment, start=now, end=now + timedelta(days=62), now=now)


def short_day(day: date) -> str:
    """A day and an abbreviated month as the language writes them: "8 Dec", "8 jou", "8 dic".

    Django's "M" capitalises every abbreviation ("8 Jou"), wrong in languages that write
    month names in lower case; there "b" keeps the lower case.
    """
    lower = date_format(day, "F")[:1].islower()
    return date_format(day, "j b" if lower else "j M")


def _day_strip(
    times: list[queries.OpenTime], zone: tzinfo, url: str, chosen: date | None = None
) -> list[dict[str, Any]]:
    """The days that have free times, each with how many and the link that picks it."""
    counts: OrderedDict[date, int] = OrderedDict()
    for t in times:
        day = t.starts_at.astimezone(zone).date()
        counts[day] = counts.get(day, 0) + 1
    return [
        {
            "day": day,
            "label": short_day(day),
            "count": count,
            "url": f"{url}?{urlencode({'day': day.isoformat()})}",
            "current": day == chosen,
        }
        for day, count in counts.items()
    ]


def _confirm_url(t: queries.OpenTime) -> str:
    query = urlencode({"supporter": str(t.supporter.pk), "starts_at": t.starts_at.isoformat()})
    return f"{reverse('sessions:confirm')}?{query}"


def _time_links(times: list[queries.OpenTime]) -> list[dict[str, Any]]:
    """Times as links to their confirm page, naming the supporter when there are several."""
    several = len({t.supporter.pk for t in times}) > 1
    return [{"time": t, "url": _confirm_url(t), "name_supporter": several} for t in times]


def nearest_times(
    times: list[queries.OpenTime], wanted: datetime, *, count: int = 4
) -> list[queries.OpenTime]:
    """The `count` free times closest to the one that could not be had, earliest first."""
    closest = sorted(times, key=lambda t: (abs(t.starts_at - wanted), t.starts_at))[:count]
    return sorted(closest, key=lambda t: (t.starts_at, t.supporter.full_name))


def _patient_page(
    request: HttpRequest,
    enrollment: Enrollment | None,
    *,
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    if enrollment is None:
        return render(request, "appointments/no_program.html", status=status)
    now = timeutil.now()
    zone = _zone(enrollment)
    context = {
        "enrollment": enrollment,
        "upcoming": list(queries.upcoming_for(enrollment, now)),
        "days": _day_strip(_open_times(enrollment, now), zone, reverse("sessions:day")),
        "problems": problems or [],
        "zone": zone,
        "rules": queries.rules_for(enrollment.organization_id),
        "cancel_form": CancelForm(),
    }
    with timezone.override(zone):
        return render(request, "appointments/mine.html", context, status=status)


def _taken_page(
    request: HttpRequest, enrollment: Enrollment, wanted: datetime, message: str
) -> HttpResponse:
    """A time someone else has just taken (409): the reason and the nearest free times."""
    zone = _zone(enrollment)
    times = _open_times(enrollment, timeutil.now())
    context = {
        "problems": [message],
        "wanted": wanted,
        "nearest": _time_links(nearest_times(times, wanted)),
        "zone": zone,
    }
    with timezone.override(zone):
        return render(request, "appointments/taken.html", context, status=409)


# Patient pages --------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """The patient's sessions: what is booked, and open times to book."""
    user = guards.require_patient(request)
    return _patient_page(request, current_enrollment(user))


@never_cache
@login_required
@require_GET
def day(request: HttpRequest) -> HttpResponse:
    """Booking, second step: the free times of one day (the first free day if none is
    named), with the other days to switch to."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _patient_page(request, None)
    now = timeutil.now()
    zone = _zone(enrollment)
    times = _open_times(enrollment, now)
    problems: list[str] = []
    status = 200
    chosen: date | None = None
    if "day" in request.GET:
        form = DayForm(request.GET)
        if form.is_valid():
            chosen = form.cleaned_data["day"]
        else:
            problems, status = [_("Please pick a day from the list.")], 400
    if chosen is None and not problems and times:
        chosen = times[0].starts_at.astimezone(zone).date()
    on_day = [t for t in times if t.starts_at.astimezone(zone).date() == chosen]
    context = {
        "chosen": chosen,
        "times": _time_links(on_day),
        "days": _day_strip(times, zone, reverse("sessions:day"), chosen),
        "problems": problems,
        "zone": zone,
    }
    with timezone.override(zone):
        return render(request, "appointments/day.html", context, status=status)


@never_cache
@login_required
@require_GET
def confirm(request: HttpRequest) -> HttpResponse:
    """Booking, last step: the chosen time, how to meet, and the one button that books."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _patient_page(request, None)
    if not request.GET:
        return HttpResponseRedirect(reverse("sessions:mine"))
    form = ChooseTimeForm(request.GET)
    if not form.is_valid():
        return _patient_page(
            request, enrollment, problems=[_("Please pick a time from the list.")], status=400
        )
    wanted = form.cleaned_data["starts_at"]
    times = _open_times(enrollment, timeutil.now())
    found = next(
        (
            t
            for t in times
            if t.starts_at == wanted and str(t.supporter.pk) == str(form.cleaned_data["supporter"])
        ),
        None,
    )
    if found is None:
        return _taken_page(
            request,
            enrollment,
            wanted,
            _("Sorry, this time is no longer free. Please pick another."),
        )
    zone = _zone(enrollment)
    local_day = found.starts_at.astimezone(zone).date()
    context = {
        "item": _by_day([found], zone)[0][1][0],
        "back": f"{reverse('sessions:day')}?{urlencode({'day': local_day.isoformat()})}",
        "zone": zone,
    }
    with timezone.override(zone):
        return render(request, "appointments/confirm.html", context)


@never_cache
@login_required
@require_POST
def book(request: HttpRequest) -> HttpResponse:
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _patient_page(request, None, status=400)
    form = BookForm(request.POST)
    if not form.is_valid():
        return _patient_page(
            request, enrollment, problems=[_("Please pick a time from the list.")], status=400
        )
    supporter = queries.find_supporter(form.cleaned_data["supporter"])
    if supporter is None:
        return _patient_page(
            request, enrollment, problems=[_("Please pick a time from the list.")], status=400
        )
    try:
        services.book(
            enrollment,
            supporter=supporter,
            starts_at=form.cleaned_data["starts_at"],
            mode=form.cleaned_data["mode"],
            actor=user,
            client_id=form.cleaned_data["client_id"],
            now=timeutil.now(),
        )
    except services.SlotTaken as taken:
        return _taken_page(request, enrollment, form.cleaned_data["starts_at"], taken.message)
    except ValidationError as refused:
        return _patient_page(request, enrollment, problems=_refusal(refused), status=400)
    messages.success(
        request, _("Your session is booked. We have emailed you the details and an invite.")
    )
    return HttpResponseRedirect(reverse("sessions:mine"))


@never_cache
@login_required
@require_POST
def cancel(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    user = guards.require_patient(request)
    appointment = queries.access_own_appointment(user, appointment_id)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.cancel(appointment, actor=user, reason=reason, now=timeutil.now())
    except ValidationError as refused:
        return _patient_page(
            request, appointment.enrollment, problems=_refusal(refused), status=400
        )
    messages.success(request, _("Your session is cancelled. We have emailed you to confirm."))
    return HttpResponseRedirect(reverse("sessions:mine"))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """Pick another open time with the same supporter: a day (`?day=`), then a time."""
    user = guards.require_patient(request)
    appointment = queries.access_own_appointment(user, appointment_id)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        form = RescheduleForm(request.POST)
        if not form.is_valid():
            problems, status = [_("Please pick a time from the list.")], 400
        else:
            try:
                services.reschedule(
                    appointment,
                    starts_at=form.cleaned_data["starts_at"],
                    actor=user,
                    client_id=form.cleaned_data["client_id"],
                    now=timeutil.now(),
                )
            except services.SlotTaken as taken:
                problems, status = [taken.message], 409
            except ValidationError as refused:
                problems, status = _refusal(refused), 400
            else:
                messages.success(
                    request, _("Your session has moved. We have emailed you the new time.")
                )
                return HttpResponseRedirect(reverse("sessions:mine"))
    now = timeutil.now()
    zone = _zone(appointment.enrollment)
    times = [
        t
        for t in queries.open_times_for(
            appointment.enrollment,
            start=now,
            end=now + timedelta(days=62),
            now=now,
            ignore=appointment,
        )
        if t.supporter.pk == appointment.supporter_id and appointment.mode in t.modes
    ]
    here = reverse("sessions:reschedule", kwargs={"appointment_id": appointment.pk})
    chosen: date | None = None
    if "day" in request.GET:
        form_day = DayForm(request.GET)
        if form_day.is_valid():
            chosen = form_day.cleaned_data["day"]
        else:
            problems, status = [_("Please pick a day from the list.")], 400
    elif times:
        chosen = times[0].starts_at.astimezone(zone).date()
    context = {
        "appointment": appointment,
        "days": _day_strip(times, zone, here, chosen),
        "chosen": chosen,
        "on_day": _by_day(
            [t for t in times if t.starts_at.astimezone(zone).date() == chosen], zone
        ),
        "problems": problems,
        "zone": zone,
    }
    with timezone.override(zone):
        return render(request, "appointments/reschedule.html", context, status=status)


# Staff pages ----------------------------------------------------------------------------

SESSIONS_PAGE = "appointments/clinic.html"


def _staff_page(
    request: HttpRequest,
    *,
    template: str = SESSIONS_PAGE,
    status: int = 200,
    **forms_: Any,
) -> HttpResponse:
    user, organization = _clinician(request)
    now = timeutil.now()
    zone = queries.supporter_zone(user, organization)
    options = queries.options_for(user)
    slots = queries.weekly_slots_of(user, organization)
    for slot in slots:
        slot.day_name = str(dict(WEEKDAYS)[slot.weekday])  # type: ignore[attr-defined]
    upcoming = list(queries.sessions_to_come(user, now))
    awaiting = list(queries.awaiting_attendance(user, now))
    if template == SESSIONS_PAGE:  # the one staff page that names the patients
        note_read(
            actor=user,
            what=Read.SESSIONS,
            via="page",
            patients=[a.enrollment.patient_id for a in (*upcoming, *awaiting)],
            organization=organization,
        )
    context = {
        "organization": organization,
        "upcoming": upcoming,
        "awaiting": awaiting,
        "attendance_form": AttendanceForm(),
        "slots": slots,
        "exceptions": queries.days_off_of(user, now.date()),
        "slot_form": forms_.get("slot_form")
        or SlotForm(initial={"time_zone": str(zone), "valid_from": now.astimezone(zone).date()}),
        "exception_form": forms_.get("exception_form") or ExceptionForm(),
        "options_form": forms_.get("options_form")
        or OptionsForm(
            initial={
                "allowed_modes": queries.allowed_modes(options),
                "video_link": options.video_link,
                "place": options.place,
            }
        ),
        "problems": forms_.get("problems") or [],
        # Sessions show in the reader's zone (their account's, else the clinic's); weekly
        # availability keeps the zone it was entered in, which the slot form defaults to.
        "zone": timezone.get_current_timezone(),
    }
    return render(request, template, context, status=status)


def _change_availability(
    request: HttpRequest,
    form: Any,
    form_name: str,
    write: Callable[[dict[str, Any]], object],
    *,
    done: str,
) -> HttpResponse:
    """Hand a valid availability form to its service and go back to the availability page;
    a refusal is shown next to the field it names (400) and nothing is written."""
    if form.is_valid():
        try:
            write(form.cleaned_data)
        except ValidationError as refused:
            add_to_form(form, refused)
        else:
            messages.success(request, done)
            return HttpResponseRedirect(reverse("sessions:availability"))
    return _staff_page(
        request, template="appointments/availability.html", status=400, **{form_name: form}
    )


@never_cache
@login_required
@require_GET
def clinic(request: HttpRequest) -> HttpResponse:
    """The supporter's sessions: coming up, and those waiting for attendance."""
    return _staff_page(request)


@never_cache
@login_required
@require_GET
def availability(request: HttpRequest) -> HttpResponse:
    """The supporter's weekly slots, days off and ways to meet."""
    return _staff_page(request, template="appointments/availability.html")


@never_cache
@login_required
@require_POST
def slot_add(request: HttpRequest) -> HttpResponse:
    user, organization = _clinician(request)
    return _change_availability(
        request,
        SlotForm(request.POST),
        "slot_form",
        lambda data: services.add_weekly_slot(
            user, actor=user, organization=organization, now=timeutil.now(), **data
        ),
        done=_("Your weekly time is added."),
    )


@never_cache
@login_required
@require_POST
def slot_delete(request: HttpRequest, slot_id: uuid.UUID) -> HttpResponse:
    user, _organization = _clinician(request)
    slot = queries.access_own_slot(user, slot_id)
    services.remove_weekly_slot(slot, actor=user, now=timeutil.now())
    messages.success(request, _("The weekly time is removed. Booked sessions stay booked."))
    return HttpResponseRedirect(reverse("sessions:availability"))


@never_cache
@login_required
@require_POST
def exception_add(request: HttpRequest) -> HttpResponse:
    user, _organization = _clinician(request)
    return _change_availability(
        request,
        ExceptionForm(request.POST),
        "exception_form",
        lambda data: services.add_exception(user, actor=user, now=timeutil.now(), **data),
        done=_("No sessions will be offered then."),
    )


@never_cache
@login_required
@require_POST
def exception_delete(request: HttpRequest, exception_id: uuid.UUID) -> HttpResponse:
    user, _organization = _clinician(request)
    exception = queries.access_own_day_off(user, exception_id)
    services.remove_exception(exception, actor=user, now=timeutil.now())
    messages.success(request, _("The day off is removed."))
    return HttpResponseRedirect(reverse("sessions:availability"))


@never_cache
@login_required
@require_POST
def options(request: HttpRequest) -> HttpResponse:
    user, _organization = _clinician(request)
    return _change_availability(
        request,
        OptionsForm(request.POST),
        "options_form",
        lambda data: services.set_session_options(user, actor=user, now=timeutil.now(), **data),
        done=_("Your ways to meet are saved."),
    )


@never_cache
@login_required
@require_POST
def attendance(request: HttpRequest, appointment_id: uuid.UUID) -> HttpResponse:
    """Record after a session whether the patient came, with minutes of support."""
    user, _organization = _clinician(request)
    appointment = queries.access_appointment(user, appointment_id)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        return _staff_page(
            request, status=400, problems=[_("Say whether the patient came to the session.")]
        )
    try:
        services.record_attendance(
            appointment,
            attended=form.cleaned_data["attended"],
            actor=user,
            minutes=form.cleaned_data["minutes"],
            now=timeutil.now(),
        )
    except ValidationError as refused:
        return _staff_page(request, status=400, problems=_refusal(refused))
    messages.success(request, _("Attendance is recorded."))
    return HttpResponseRedirect(reverse("sessions:clinic"))
