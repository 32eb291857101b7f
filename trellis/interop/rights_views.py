"""The data-rights pages: the clinic's retention and erasure settings with the requests
waiting (clinic admins), erasing on a request made by phone or in person, a patient's own
erasure request, and the de-identified research export (researchers and clinic admins).

Each view asks the role guard or the clinic it manages, then one service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from trellis.accounts.guards import require_patient
from trellis.core import timeutil
from trellis.interop.erasure import queries
from trellis.interop.erasure.rules import refusals, settings_for
from trellis.interop.erasure.services import (
    ErasureRefused,
    erase_person,
    open_request,
    refuse_erasure,
    request_erasure,
)
from trellis.interop.models import Erasure, ErasureStatus
from trellis.interop.research import files
from trellis.interop.research.export import ExportRefused, export_research
from trellis.interop.retention import update_data_rights
from trellis.interop.rights_forms import (
    DataRightsForm,
    EraseForm,
    ErasureRequestForm,
    ReasonForm,
    ResearchExportForm,
    VerbalErasureForm,
)


def _user(request: HttpRequest) -> Any:
    return request.user


def _request_rows(organization: Any) -> list[dict[str, Any]]:
    rows = []
    for erasure in queries.waiting_requests(organization):
        person = queries.requester(erasure)
        rows.append(
            {
                "erasure": erasure,
                "person": person,
                "blocked": refusals(person, organization, on_request=True) if person else [],
            }
        )
    return rows


def _settings_page(
    request: HttpRequest,
    organization: Any,
    *,
    form: DataRightsForm | None = None,
    problems: list[str] | None = None,
    refuse_forms: dict[Any, ReasonForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    current = settings_for(organization)
    form = form or DataRightsForm(
        initial={
            "retention_days": current.retention_days,
            "erasure_on_request": current.erasure_on_request,
            "research_k": current.research_k,
        }
    )
    rows = _request_rows(organization)
    for row in rows:
        row["refuse_form"] = (refuse_forms or {}).get(row["erasure"].pk) or ReasonForm(
            prefix=f"refuse-{row['erasure'].pk}"
        )
        row["erase_form"] = EraseForm(prefix=f"erase-{row['erasure'].pk}")
    context = {
        "clinic": organization,
        "form": form,
        "rows": rows,
        "decided": [
            {"erasure": e, "rows": sum(e.counts.values())} for e in queries.decided(organization)
        ],
        "problems": problems or [],
    }
    return render(request, "interop/rights/data_rights.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def data_rights(request: HttpRequest) -> HttpResponse:
    """The clinic's retention time, erasure on request and research k; the requests waiting
    for a decision; the latest erasures."""
    organization = queries.managed_clinic(request.user)
    if request.method == "GET":
        return _settings_page(request, organization)
    form = DataRightsForm(request.POST)
    if form.is_valid():
        try:
            changed = update_data_rights(
                organization, actor=_user(request), now=timeutil.now(), **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if changed:
                messages.success(request, _("The data-rights settings were saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("data_rights:settings")
    return _settings_page(request, organization, form=form, status=400)


@never_cache
@login_required
@require_POST
def refuse(request: HttpRequest, pk: Any) -> HttpResponse:
    """Refuse a waiting request, with a reason the patient reads."""
    organization = queries.managed_clinic(request.user)
    erasure = queries.access_waiting_request(organization, pk)
    form = ReasonForm(request.POST, prefix=f"refuse-{erasure.pk}")
    if form.is_valid():
        try:
            refuse_erasure(
                erasure, by=_user(request), reason=form.cleaned_data["reason"], now=timeutil.now()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The request was refused; the patient can read why."))
            return redirect("data_rights:settings")
    return _settings_page(request, organization, refuse_forms={erasure.pk: form}, status=400)


def _erase(
    request: HttpRequest,
    organization: Any,
    person: Any,
    *,
    reason: str,
    waiting: Erasure | None,
) -> list[str]:
    """Erase and say so; the refusals' messages when a rule stands in the way."""
    try:
        erasure = erase_person(
            person,
            organization=organization,
            by=_user(request),
            reason=reason,
            on_request=True,
            request=waiting,
            now=timeutil.now(),
        )
    except ErasureRefused as refused:
        return [r.message for r in refused.refusals]
    except ValidationError as error:
        return list(error.messages)
    messages.success(
        request,
        _("The record was erased: %(n)s rows removed or emptied.")
        % {"n": sum(erasure.counts.values())},
    )
    return []


@never_cache
@login_required
@require_POST
def erase(request: HttpRequest, pk: Any) -> HttpResponse:
    """Erase the record of a patient whose request is waiting."""
    organization = queries.managed_clinic(request.user)
    erasure = queries.access_waiting_request(organization, pk)
    form = EraseForm(request.POST, prefix=f"erase-{erasure.pk}")
    person = queries.requester(erasure)
    if not form.is_valid():
        return _settings_page(
            request, organization, problems=[_("Tick the box to confirm.")], status=400
        )
    if person is None:
        return _settings_page(
            request, organization, problems=[_("This person no longer exists.")], status=409
        )
    problems = _erase(request, organization, person, reason="", waiting=erasure)
    if problems:
        return _settings_page(request, organization, problems=problems, status=409)
    return redirect("data_rights:settings")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def erase_verbal(request: HttpRequest) -> HttpResponse:
    """Erase a patient's record on a request made by phone, by letter or in person."""
    organization = queries.managed_clinic(request.user)
    form = VerbalErasureForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            person = queries.patient_of(organization, form.cleaned_data["email"])
            if person is None:
                form.add_error("email", _("No patient of this clinic has this e-mail address."))
            else:
                problems = _erase(
                    request,
                    organization,
                    person,
                    reason=form.cleaned_data["reason"],
                    waiting=open_request(person),
                )
                if not problems:
                    return redirect("data_rights:settings")
                for problem in problems:
                    form.add_error(None, problem)
                status = 409
    context = {"clinic": organization, "form": form}
    return render(request, "interop/rights/erase_verbal.html", context, status=status)


def _kept_for(days: int) -> str:
    """A retention time in words a patient reads: years when it is whole years."""
    if days >= 365 and days % 365 == 0:
        years = days // 365
        return ngettext("%(n)s year", "%(n)s years", years) % {"n": years}
    return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def my_erasure(request: HttpRequest) -> HttpResponse:
    """A patient asks for their record to be erased, and sees what became of the request."""
    patient = require_patient(request)
    organization = queries.patients_clinic(patient)
    form = ErasureRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if organization is not None and form.is_valid():
            try:
                request_erasure(patient=patient, organization=organization, now=timeutil.now())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, _("Your request was sent to the clinic."))
                return redirect("data_rights:my_erasure")
    latest = queries.own_requests(patient).first()
    context = {
        "clinic": organization,
        "allowed": organization is not None and settings_for(organization).erasure_on_request,
        "kept_for": _kept_for(settings_for(organization).retention_days) if organization else "",
        "form": form,
        "latest": latest,
        "waiting": latest is not None and latest.status == ErasureStatus.REQUESTED,
    }
    return render(request, "interop/rights/my_erasure.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def research_export(request: HttpRequest) -> HttpResponse:
    """Download the de-identified research export as CSV or Parquet files in a zip."""
    organization = queries.exporting_clinic(request.user)
    form = ResearchExportForm(request.POST or None)
    context: dict[str, Any] = {
        "clinic": organization,
        "form": form,
        "k": settings_for(organization).research_k,
        "refused": None,
    }
    if request.method == "GET":
        return render(request, "interop/rights/research_export.html", context)
    if not form.is_valid():
        return render(request, "interop/rights/research_export.html", context, status=400)
    fmt = files.Format(form.cleaned_data["format"])
    try:
        export = export_research(organization, by=_user(request), fmt=fmt, now=timeutil.now())
    except ExportRefused as refused:
        context["refused"] = refused
        return render(request, "interop/rights/research_export.html", context, status=409)
    body = files.zip_archive(export.data, fmt, k=export.k)
    stamp = timeutil.now().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="research-{organization.slug}-{stamp}-{fmt.value}.zip"'
    )
    return response
