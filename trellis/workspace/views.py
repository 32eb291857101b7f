"""The supporter's workspace: the caseload, the patient record, care notes, stepped care,
and the supervisor's view (namespace "caseload", mounted at /clinic/caseload/).

Views are thin: check the role, reach the enrollment through `access_enrollment` (404 outside
reach), call one service, render. Bad input is re-shown with a 400 and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trellis.accounts import guards
from trellis.accounts.models import User
from trellis.alerts.models import AlertKind
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care import services as care_services
from trellis.care.models import Enrollment, SupportLevel
from trellis.care.queries import care_notes_of, patient_zone, supporters_of
from trellis.core import timeutil
from trellis.core.errors import add_to_form
from trellis.insights.summary import progress_summary
from trellis.journey.queries import journal_for, story
from trellis.measures import charts
from trellis.measures.queries import outcome_for, series
from trellis.nudges import queries as nudges_queries
from trellis.workspace import caseload as caseload_queries
from trellis.workspace import queries
from trellis.workspace import record as record_queries
from trellis.workspace.forms import DecisionForm, NoteForm, StepChangeForm

PAGE_SIZE = 100


CASELOAD_ONLY = gettext_lazy("The caseload is for the clinic's coaches and therapists.")


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@never_cache
@login_required
@require_GET
def caseload_list(request: HttpRequest) -> HttpResponse:
    """The supporter's patients, the one who needs them most first, each with why."""
    user = guards.require_clinician(request, CASELOAD_ONLY)

    filters = caseload_queries.Filters.from_mapping(request.GET)
    sort = caseload_queries.Sort.parse(request.GET.get("sort"))
    # Only the rows of the requested page are read in detail (see caseload_page).
    now = timeutil.now()
    raw_page = request.GET.get("page", "1")
    # Digits only, and few of them: "²" passes isdigit, and int() refuses 5,000 digits.
    typed = raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= 6
    wanted = int(raw_page) if typed and int(raw_page) > 0 else 1

    def rows_of(number: int) -> tuple[list[Any], int]:
        return caseload_queries.caseload_page(
            user,
            now=now,
            filters=filters,
            offset=(number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
            sort=sort,
        )

    rows, total = rows_of(wanted)
    page = Paginator(range(total), PAGE_SIZE).get_page(wanted)
    if page.number != wanted:  # past the last page: show the last one
        rows, total = rows_of(page.number)
    page.object_list = rows
    note_read(
        actor=user,
        what=Read.CASELOAD,
        via="page",
        patients=[row.enrollment.patient_id for row in rows],
        details={"page": page.number},
    )
    return render(
        request,
        "workspace/caseload.html",
        {
            "page": page,
            "total": total,
            "filters": filters,
            "sort": sort,
            "columns": _sort_headers(filters, sort),
            "sort_choices": _sort_choices(sort),
            "here": _caseload_query(filters, sort),
            "filters_only": _caseload_query(filters, caseload_queries.Sort()),
            "programs": queries.caseload_programs(user),
            "levels": SupportLevel.choices,
            "alert_kinds": AlertKind.choices,
            "supporters": (
                caseload_queries.supporters_in(user) if queries.is_supervisor(user) else []
            ),
        },
    )


def _caseload_query(filters: caseload_queries.Filters, sort: caseload_queries.Sort) -> str:
    """The filters and order as an address query (no page), for headers and page links."""
    pairs = {
        "program": filters.program,
        "support_level": filters.support_level,
        "alert_kind": filters.alert_kind,
        "supporter": filters.supporter,
        "sort": sort.param,
    }
    return urlencode({k: v for k, v in pairs.items() if v})


def _sort_headers(
    filters: caseload_queries.Filters, sort: caseload_queries.Sort
) -> list[dict[str, Any]]:
    """Each column header: its label, where a click leads, and its aria-sort."""
    headers = []
    for column in caseload_queries.COLUMNS:
        current = sort.key == column.key
        query = _caseload_query(filters, sort.toggled(column.key))
        headers.append(
            {
                "key": column.key,
                "label": column.label,
                "href": "?" + query if query else "?",
                "aria_sort": (
                    ("descending" if sort.descending else "ascending") if current else ""
                ),
            }
        )
    return headers


def _sort_choices(sort: caseload_queries.Sort) -> list[tuple[str, str]]:
    """The order picker beside the filters (a phone hides the column headings): each
    column in its first direction, and the present order if it is the other way round."""
    choices = [("", _("Most need first"))]
    for column in caseload_queries.COLUMNS:
        if column.key != "need":
            first = caseload_queries.Sort(column.key, column.descending)
            choices.append((first.param, str(column.label)))
            if sort.key == column.key and sort.descending != column.descending:
                choices.append((sort.param, _("%(column)s, reversed") % {"column": column.label}))
    return choices


def _record_context(enrollment: Enrollment, user: User) -> dict[str, Any]:
    now = timeutil.now()
    tz = patient_zone(enrollment)
    by_instrument = {code: series(enrollment, code) for code in ("PHQ-9", "GAD-7")}
    return {
        "attention": record_queries.attention(enrollment, now=now, by_instrument=by_instrument),
        "progress": progress_summary(enrollment, now=now, tz=tz),
        "enrollment": enrollment,
        "patient": enrollment.patient,
        "supporters": supporters_of(enrollment),
        "timeline": record_queries.timeline(enrollment),
        "deliveries": nudges_queries.delivery_log(enrollment),
        "chart": charts.trajectory_svg(by_instrument, tz=tz, id_prefix="record"),
        "rows": charts.table_rows(by_instrument, tz),
        "outcome": outcome_for(enrollment),
        "story": story(enrollment, now),
        "journal": journal_for(enrollment, viewer_is_patient=False)[:50],
        "notes": care_notes_of(enrollment),
        "note_form": NoteForm(),
        "step_form": StepChangeForm(),
        "decision_form": DecisionForm(),
        "pending": record_queries.summary(enrollment)["pending_change"],
        "can_decide": queries.may_decide_step_change(user, enrollment),
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
    context = _record_context(enrollment, user)
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
    enrollment = queries.access_patient_enrollment(user, pk)
    note_read(
        actor=user, what=Read.RECORD, via="page", patient=enrollment.patient_id, subject=enrollment
    )
    return _render_record(request, enrollment, user)


@never_cache
@login_required
@require_GET
def prepare_session(request: HttpRequest, pk: Any, appointment_id: Any) -> HttpResponse:
    """Before a live session: the session, and the progress summary since the last contact.
    The session must belong to an enrollment in the supporter's reach (404 otherwise)."""
    user = guards.require_clinician(request, CASELOAD_ONLY)
    enrollment = queries.access_patient_enrollment(user, pk)
    session = queries.access_session_of(enrollment, appointment_id)
    note_read(
        actor=user,
        what=Read.RECORD,
        via="page",
        patient=enrollment.patient_id,
        subject=enrollment,
        details={"what": "prepare for a session", "appointment": str(session.pk)},
    )
    tz = patient_zone(enrollment)
    return render(
        request,
        "workspace/prepare_session.html",
        {
            "enrollment": enrollment,
            "patient": enrollment.patient,
            "session": session,
            "progress": progress_summary(enrollment, now=timeutil.now(), tz=tz),
            "tz": tz,
        },
    )


@never_cache
@login_required
@require_POST
def add_note(request: HttpRequest, pk: Any) -> HttpResponse:
    """Keep a care-team note on the record."""
    user = guards.require_clinician(request, CASELOAD_ONLY)
    enrollment = queries.access_patient_enrollment(user, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            care_services.add_care_note(
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
    enrollment = queries.access_patient_enrollment(user, pk)
    form = StepChangeForm(request.POST)
    if form.is_valid():
        try:
            care_services.suggest_step_change(
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


def _decide(request: HttpRequest, pk: Any, confirm: bool) -> HttpResponse:
    user = guards.require_clinician(request, CASELOAD_ONLY)
    change = queries.access_step_change(user, pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        service = (
            care_services.confirm_step_change if confirm else care_services.decline_step_change
        )
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


@never_cache
@login_required
@require_GET
def supervision(request: HttpRequest) -> HttpResponse:
    """For supervisors and clinic admins: how the clinic's support is spread and how it goes."""
    user = _user(request)
    organizations = queries.supervised_organizations(user)
    if not organizations:
        raise PermissionDenied(_("This page is for the clinic's supervisors and admins."))
    is_supervisor = queries.is_supervisor(user)
    return render(
        request,
        "workspace/supervision.html",
        {
            "rows": queries.supervision_rows(organizations, now=timeutil.now()),
            "weeks": queries.WEEKS,
            "can_reassign": is_supervisor,
            "enrollments": queries.enrollments_to_reassign(organizations if is_supervisor else []),
            "supporters": queries.clinical_staff(organizations),
        },
    )


@never_cache
@login_required
@require_POST
def reassign(request: HttpRequest, pk: Any) -> HttpResponse:
    """A supervisor moves a patient to another supporter."""
    user = _user(request)
    if not queries.is_supervisor(user):
        raise PermissionDenied(_("Only supervisors reassign patients."))
    enrollment = queries.access_patient_enrollment(user, pk)
    to_supporter = queries.new_supporter(enrollment, request.POST.get("to_supporter", ""))
    if to_supporter is None:
        return render(
            request,
            "workspace/reassign_error.html",
            {"error": _("Choose a coach, therapist or supervisor of this clinic.")},
            status=400,
        )
    if to_supporter.pk == queries.current_supporter_id(enrollment):
        return render(
            request,
            "workspace/reassign_error.html",
            {
                "error": _(
                    "%(supporter)s already supports %(patient)s; nothing was changed. "
                    "Choose someone else to reassign the patient."
                )
                % {
                    "patient": enrollment.patient.display_name,
                    "supporter": to_supporter.display_name,
                }
            },
            status=400,
        )
    try:
        care_services.reassign(
            enrollment, to_supporter=to_supporter, actor=user, now=timeutil.now()
        )
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
