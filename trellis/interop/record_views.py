"""The patient's own record (namespace "record"): My record, its downloads, a request for a
correction and the accounting of disclosures, for the signed-in patient; and the requests
for corrections of patients in their reach, for clinicians, who accept or refuse them.

Each view asks `accounts.guards` for the role and an `access_*` read for the object, then
calls one service (trellis.interop.record).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trellis.accounts import guards
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care.queries import enrollments_for, simple_mode_of
from trellis.core import timeutil
from trellis.core.errors import Conflict, add_to_form
from trellis.interop.models import AmendmentRequest
from trellis.interop.record import accounting, amendments, export, parts
from trellis.interop.record.forms import AmendmentRequestForm, DecisionForm
from trellis.interop.record.gather import gather

# The patient's pages -------------------------------------------------------------------


def _patient_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("simple_mode", simple_mode_of(request.user))
    return render(request, template, context, status=status)


@never_cache
@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """My record: everything Trellis holds about the patient, in plain words."""
    patient = guards.require_patient(request)
    record = gather(patient, now=timeutil.now())
    return _patient_page(
        request,
        "interop/record/mine.html",
        {"record": record, "parts": {k: str(v) for k, v in parts.PARTS.items()}},
    )


@never_cache
@login_required
@require_GET
def download(request: HttpRequest, fmt: str) -> HttpResponse:
    """The whole record as a file: readable HTML, Trellis JSON or a FHIR Bundle."""
    patient = guards.require_patient(request)
    if fmt not in export.FORMATS:
        raise Http404(_("There is no such download."))
    file = export.download_record(patient=patient, fmt=fmt, now=timeutil.now())
    response = HttpResponse(file.body, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def request_amendment(request: HttpRequest) -> HttpResponse:
    """Ask for a correction of a part of the record."""
    patient = guards.require_patient(request)
    about = request.GET.get("about", "")
    form = AmendmentRequestForm(
        request.POST if request.method == "POST" else None,
        initial={"about": about if about in parts.PARTS else ""},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                amendments.request_amendment(
                    patient=patient,
                    about=form.cleaned_data["about"],
                    change=form.cleaned_data["change"],
                    now=timeutil.now(),
                )
            except ValidationError as error:
                add_to_form(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "Your request is sent. Your care team will answer within 60 days; "
                        "you will see their answer here."
                    ),
                )
                return redirect(reverse("record:mine") + "#amendments")
    return _patient_page(
        request, "interop/record/request_amendment.html", {"form": form}, status=status
    )


@never_cache
@login_required
@require_GET
def disclosures(request: HttpRequest) -> HttpResponse:
    """Who the record was disclosed to (the accounting of disclosures), and the patient's
    own downloads."""
    patient = guards.require_patient(request)
    page = accounting.disclosures_of(patient, page=request.GET.get("page") or 1)
    return _patient_page(
        request,
        "interop/record/disclosures.html",
        {"page": page, "downloads": accounting.downloads_of(patient)},
    )


# The clinicians' pages -----------------------------------------------------------------


@never_cache
@login_required
@require_GET
def clinic_amendments(request: HttpRequest) -> HttpResponse:
    """Requests for corrections from patients in the clinician's reach: pending first."""
    clinician = guards.require_clinician(request)
    pending = amendments.pending_for(clinician)
    decided = amendments.decided_for(clinician)
    shown = [a.patient_id for a in (*pending, *decided)]
    note_read(
        actor=clinician,
        what=Read.AMENDMENTS,
        via="page",
        patients=shown,
    )
    now = timeutil.now()
    return render(
        request,
        "interop/record/clinic_list.html",
        {
            "pending": [
                (a, parts.decide_by(a.created_at), parts.part_label(a.about)) for a in pending
            ],
            "decided": [(a, parts.part_label(a.about)) for a in decided],
            "now": now,
        },
    )


def _detail(
    request: HttpRequest, amendment: AmendmentRequest, form: DecisionForm, status: int = 200
) -> HttpResponse:
    enrollment = (
        enrollments_for(request.user)
        .filter(patient_id=amendment.patient_id)
        .order_by("-started_at")
        .first()
    )
    return render(
        request,
        "interop/record/clinic_detail.html",
        {
            "amendment": amendment,
            "about": parts.part_label(amendment.about),
            "decide_by": parts.decide_by(amendment.created_at),
            "enrollment": enrollment,
            "form": form,
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def clinic_amendment(request: HttpRequest, pk: Any) -> HttpResponse:
    """One request: what the patient asked, and the form to accept or refuse it."""
    clinician = guards.require_clinician(request)
    amendment = amendments.access_amendment(clinician, pk)
    note_read(
        actor=clinician,
        what=Read.RECORD,
        via="page",
        patient=amendment.patient_id,
        subject=amendment,
        organization=amendment.organization_id,
        details={"page": "amendment"},
    )
    return _detail(request, amendment, DecisionForm())


@never_cache
@login_required
@require_POST
def decide(request: HttpRequest, pk: Any) -> HttpResponse:
    """Accept or refuse a request, with a reason (required to refuse)."""
    clinician = guards.require_clinician(request)
    amendment = amendments.access_amendment(clinician, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail(request, amendment, form, status=400)
    try:
        decided = amendments.decide_amendment(
            amendment,
            actor=clinician,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
            now=timeutil.now(),
        )
    except Conflict as error:
        add_to_form(form, error)
        amendment.refresh_from_db()
        return _detail(request, amendment, form, status=409)
    except ValidationError as error:
        add_to_form(form, error)
        return _detail(request, amendment, form, status=400)
    messages.success(
        request,
        _("The correction is accepted and added to the patient's record.")
        if decided.status == "accepted"
        else _("The request is refused. The patient can read your reason."),
    )
    return redirect("record:clinic_amendment", pk=decided.pk)
