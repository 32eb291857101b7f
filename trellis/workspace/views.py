"""The supporter's workspace: the caseload, the patient record, care notes, stepped care,
and the supervisor's view (namespace "caseload", mounted at /clinic/caseload/).

Views are thin: check the role, reach the enrollment through `access_enrollment` (404 outside
reach), call one service, render. Bad input is re-shown with a 400 and nothing is written.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trellis import audit
from trellis.accounts import guards
from trellis.accounts.models import CLINICAL_ROLES, Membership, Role, User
from trellis.accounts.queries import active_memberships
from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.appointments.models import Appointment
from trellis.care import notes, stepped_care
from trellis.care.models import (
    CareTeamMember,
    Enrollment,
    EnrollmentStatus,
    StepChangeStatus,
    SteppedCareChange,
    SupportLevel,
)
from trellis.care.queries import access_enrollment, enrollments_for, patient_zone
from trellis.core import timeutil
from trellis.core.errors import add_to_form
from trellis.journey.queries import journal_for, story
from trellis.measures import charts
from trellis.measures.queries import outcome_for, series
from trellis.messaging.models import Message
from trellis.messaging.queries import reply_times
from trellis.programs.models import Program
from trellis.workspace import caseload as caseload_queries
from trellis.workspace import record as record_queries

PAGE_SIZE = 100
WEEKS = 4


class NoteForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("New care note"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=notes.MAX_NOTE,
    )


class StepChangeForm(forms.Form):
    to_level = forms.ChoiceField(
        label=gettext_lazy("Suggested level of support"),
        choices=[("", gettext_lazy("Choose a level")), *SupportLevel.choices],
        required=False,
    )
    reason = forms.CharField(
        label=gettext_lazy("Why"), max_length=stepped_care.MAX_REASON, required=False
    )


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note (optional)"), max_length=stepped_care.MAX_REASON, required=False
    )


CASELOAD_ONLY = gettext_lazy("The caseload is for the clinic's coaches and therapists.")


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _reach(user: User, pk: Any) -> Enrollment:
    enrollment = access_enrollment(user, pk)
    if enrollment.patient_id == user.pk:
        raise Http404(_("There is no such patient in your reach."))
    return enrollment


@never_cache
@login_required
@require_GET
def caseload_list(request: HttpRequest) -> HttpResponse:
    """The supporter's patients, the one who needs them most first, each with why."""
    user = guards.require_clinician(request, CASELOAD_ONLY)

    filters = caseload_queries.Filters.from_mapping(request.GET)
    # Only the rows of the requested page are read in detail (see caseload_page).
    now = timeutil.now()
    raw_page = request.GET.get("page", "1")
    wanted = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1

    def rows_of(number: int) -> tuple[list[Any], int]:
        return caseload_queries.caseload_page(
            user, now=now, filters=filters, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )

    rows, total = rows_of(wanted)
    page = Paginator(range(total), PAGE_SIZE).get_page(wanted)
    if page.number != wanted:  # past the last page: show the last one
        rows, total = rows_of(page.number)
    page.object_list = rows
    is_supervisor = active_memberships(user).filter(role=Role.SUPERVISOR).exists()
    programs = (
        Program.objects.filter(
            versions__enrollments__in=enrollments_for(user).filter(status=EnrollmentStatus.ACTIVE)
        )
        .distinct()
        .values_list("slug", "title")
    )
    return render(
        request,
        "workspace/caseload.html",
        {
            "page": page,
            "total": total,
            "filters": filters,
            "programs": list(programs),
            "levels": SupportLevel.choices,
            "alert_kinds": AlertKind.choices,
            "supporters": caseload_queries.supporters_in(user) if is_supervisor else [],
        },
    )


def _record_context(request: HttpRequest, enrollment: Enrollment, user: User) -> dict[str, Any]:

    now = timeutil.now()
    tz = patient_zone(enrollment)
    by_instrument = {code: series(enrollment, code) for code in ("PHQ-9", "GAD-7")}
    can_decide = (
        active_memberships(user)
        .filter(organization_id=enrollment.organization_id, role__in=stepped_care.DECIDING_ROLES)
        .exists()
    )
    return {
        "enrollment": enrollment,
        "patient": enrollment.patient,
        "supporters": CareTeamMember.objects.filter(enrollment=enrollment, active=True)
        .select_related("supporter")
        .order_by("role", "created_at"),
        "timeline": record_queries.timeline(enrollment),
        "chart": charts.trajectory_svg(by_instrument, tz=tz, id_prefix="record"),
        "rows": charts.table_rows(by_instrument, tz),
        "outcome": outcome_for(enrollment),
        "story": story(enrollment, now),
        "journal": journal_for(enrollment, viewer_is_patient=False)[:50],
        "notes": notes.notes_of(enrollment),
        "note_form": NoteForm(),
        "step_form": StepChangeForm(),
        "decision_form": DecisionForm(),
        "pending": record_queries.summary(enrollment)["pending_change"],
        "can_decide": can_decide,
        "tz": tz,
    }


def _describe_errors(form: forms.Form) -> None:
    """Tie each field's error to its input for screen readers."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            attrs["aria-describedby"] = f"{form[name].auto_id}-error"
            attrs["aria-invalid"] = "true"


def _render_record(
    request: HttpRequest, enrollment: Enrollment, user: User, status: int = 200, **forms_: Any
) -> HttpResponse:
    context = _record_context(request, enrollment, user)
    for form in forms_.values():
        _describe_errors(form)
    context.update(forms_)
    return render(request, "workspace/record.html", context, status=status)


@never_cache
@login_required
@require_GET
def patient_record(request: HttpRequest, pk: Any) -> HttpResponse:
    """Everything about one patient's treatment for their care team; the read is audited."""
    user = guards.require_clinician(request, CASELOAD_ONLY)
    enrollment = _reach(user, pk)
    with transaction.atomic():
        audit.record(
            action="record.view",
            actor=user,
            subject=enrollment,
            patient=enrollment.patient_id,
            organization=enrollment.organization_id,
        )
    return _render_record(request, enrollment, user)


@never_cache
@login_required
@require_POST
def add_note(request: HttpRequest, pk: Any) -> HttpResponse:
    """Keep a care-team note on the record."""
    user = guards.require_clinician(request, CASELOAD_ONLY)
    enrollment = _reach(user, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            notes.add_care_note(
                enrollment, author=user, body=form.cleaned_data["body"], now=timeutil.now()
            )
        except ValidationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("The note is saved."))
            return redirect(reverse("caseload:record", kwargs={"pk": enrollment.pk}) + "#notes")
    return _render_record(request, enrollment, user, status=400, note_form=form)


@never_cache
@login_required
@require_POST
def suggest_step(request: HttpRequest, pk: Any) -> HttpResponse:
    """Suggest stepping the patient's support up or down, with a reason."""
    user = guards.require_clinician(request, CASELOAD_ONLY)
    enrollment = _reach(user, pk)
    form = StepChangeForm(request.POST)
    if form.is_valid():
        try:
            stepped_care.suggest_step_change(
                enrollment,
                to_level=form.cleaned_data["to_level"],
                reason=form.cleaned_data["reason"],
                actor=user,
                now=timeutil.now(),
            )
        except ValidationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Your suggestion is waiting for a clinician's decision."))
            return redirect("caseload:record", pk=enrollment.pk)
    return _render_record(request, enrollment, user, status=400, step_form=form)


def access_step_change(user: User, pk: Any) -> SteppedCareChange:
    """A change of support of an enrollment in reach, or 404."""
    change = (
        SteppedCareChange.objects.filter(
            pk=pk, enrollment__in=enrollments_for(user).exclude(patient=user)
        )
        .select_related("enrollment__organization", "enrollment__patient")
        .first()
    )
    if change is None:
        raise Http404(_("There is no such suggestion in your reach."))
    return change


def _decide(request: HttpRequest, pk: Any, confirm: bool) -> HttpResponse:
    user = guards.require_clinician(request, CASELOAD_ONLY)
    try:
        change = access_step_change(user, pk)
    except ValidationError:  # a malformed id
        raise Http404 from None
    form = DecisionForm(request.POST)
    if form.is_valid():
        service = stepped_care.confirm_step_change if confirm else stepped_care.decline_step_change
        try:
            service(change, actor=user, now=timeutil.now(), note=form.cleaned_data["note"])
        except ValidationError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request,
                _("The new level of support is confirmed and the patient is told.")
                if confirm
                else _("The suggestion is declined; the level of support stays."),
            )
            return redirect("caseload:record", pk=change.enrollment_id)
    return _render_record(request, change.enrollment, user, status=400, decision_form=form)


@never_cache
@login_required
@require_POST
def confirm_step(request: HttpRequest, pk: Any) -> HttpResponse:
    """A therapist or supervisor confirms a suggested change of support."""
    return _decide(request, pk, confirm=True)


@never_cache
@login_required
@require_POST
def decline_step(request: HttpRequest, pk: Any) -> HttpResponse:
    """A therapist or supervisor declines a suggested change of support."""
    return _decide(request, pk, confirm=False)


def _supervised_orgs(user: User) -> list[Any]:
    return list(
        active_memberships(user)
        .filter(role__in=(Role.SUPERVISOR, Role.ADMIN))
        .values_list("organization_id", flat=True)
    )


def _median_reply(supporter: User, since: datetime) -> float | None:
    times = list(reply_times(supporter, since))
    return statistics.median(times) if times else None


def supervision_rows(organizations: list[Any], *, now: datetime) -> list[dict[str, Any]]:
    """Per supporter: caseload size, open alerts, median reply time, minutes of support per
    patient per week over the last four weeks."""

    since = now - timedelta(weeks=WEEKS)
    staff = (
        User.objects.filter(
            memberships__organization_id__in=organizations,
            memberships__role__in=CLINICAL_ROLES,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("full_name")
    )
    active = Q(
        supporting__active=True,
        supporting__enrollment__status=EnrollmentStatus.ACTIVE,
        supporting__enrollment__organization_id__in=organizations,
    )
    sizes = dict(
        staff.annotate(n=Count("supporting", filter=active, distinct=True)).values_list("pk", "n")
    )
    rows = []
    for supporter in staff:
        enrollment_ids = CareTeamMember.objects.filter(
            supporter=supporter,
            active=True,
            enrollment__status=EnrollmentStatus.ACTIVE,
            enrollment__organization_id__in=organizations,
        ).values("enrollment_id")
        open_alerts = Alert.objects.filter(
            enrollment_id__in=enrollment_ids, state=AlertState.OPEN
        ).count()
        minutes = (
            Message.objects.filter(
                sender=supporter,
                from_patient=False,
                sent_at__gte=since,
                thread__enrollment__organization_id__in=organizations,
            ).aggregate(m=Sum("support_minutes"))["m"]
            or 0
        ) + (
            Appointment.objects.filter(
                supporter=supporter,
                starts_at__gte=since,
                starts_at__lte=now,
                enrollment__organization_id__in=organizations,
            ).aggregate(m=Sum("support_minutes"))["m"]
            or 0
        )
        size = sizes.get(supporter.pk, 0)
        median = _median_reply(supporter, since)
        rows.append(
            {
                "supporter": supporter,
                "caseload": size,
                "open_alerts": open_alerts,
                "median_reply_hours": None if median is None else round(median / 3600, 1),
                "minutes_per_patient_week": round(minutes / size / WEEKS, 1) if size else None,
            }
        )
    return rows


@never_cache
@login_required
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    """For supervisors and clinic admins: how the clinic's support is spread and how it goes."""
    user = _user(request)
    organizations = _supervised_orgs(user)
    if not organizations:
        raise PermissionDenied(_("This page is for the clinic's supervisors and admins."))
    is_supervisor = active_memberships(user).filter(role=Role.SUPERVISOR).exists()
    enrollments = (
        Enrollment.objects.filter(
            organization_id__in=_supervised_orgs(user) if is_supervisor else [],
            status=EnrollmentStatus.ACTIVE,
        )
        .select_related("patient")
        .order_by("patient__full_name")[:500]
    )
    return render(
        request,
        "workspace/supervision.html",
        {
            "rows": supervision_rows(organizations, now=timeutil.now()),
            "weeks": WEEKS,
            "can_reassign": is_supervisor,
            "enrollments": enrollments,
            "supporters": Membership.objects.filter(
                organization_id__in=organizations, role__in=CLINICAL_ROLES, is_active=True
            )
            .select_related("user")
            .order_by("user__full_name"),
        },
    )


@never_cache
@login_required
@require_POST
def reassign(request: HttpRequest, pk: Any) -> HttpResponse:
    """A supervisor moves a patient to another supporter."""
    user = _user(request)
    if not active_memberships(user).filter(role=Role.SUPERVISOR).exists():
        raise PermissionDenied(_("Only supervisors reassign patients."))
    enrollment = _reach(user, pk)
    supporter_id = request.POST.get("to_supporter", "")
    to_supporter = (
        User.objects.filter(
            pk__in=Membership.objects.filter(
                organization_id=enrollment.organization_id,
                role__in=CLINICAL_ROLES,
                is_active=True,
            ).values("user_id")
        )
        .filter(pk=supporter_id)
        .first()
        if _is_uuid(supporter_id)
        else None
    )
    if to_supporter is None:
        return render(
            request,
            "workspace/reassign_error.html",
            {"error": _("Choose a coach, therapist or supervisor of this clinic.")},
            status=400,
        )
    try:
        stepped_care.reassign(enrollment, to_supporter=to_supporter, actor=user, now=timeutil.now())
    except ValidationError as error:
        return render(
            request,
            "workspace/reassign_error.html",
            {"error": " ".join(error.messages)},
            status=400,
        )
    messages.success(
        request,
        _("%(patient)s is now supported by %(supporter)s.")
        % {"patient": enrollment.patient.display_name, "supporter": to_supporter.display_name},
    )
    return redirect("caseload:supervision")


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


__all__ = ["StepChangeStatus"]
