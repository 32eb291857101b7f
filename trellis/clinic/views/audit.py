"""The clinic's audit trail for admins and supervisors: a filtered list and a CSV export.

Looking at the trail and exporting it are themselves audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from trellis.accounts.models import Organization
from trellis.audit import export
from trellis.audit.queries import EventFilter, page, parse_filter
from trellis.audit.services import note_trail_read
from trellis.clinic.queries import audit_organizations, clinic_events
from trellis.core import timeutil


def _clinic(request: HttpRequest) -> tuple[Organization, list[Organization]]:
    """The clinic whose trail is shown (chosen with ?clinic= when a person has several)."""
    clinics = list(audit_organizations(request.user))
    if not clinics:
        raise PermissionDenied(_("Only clinic admins and supervisors can read the audit trail."))
    chosen = request.GET.get("clinic", "")
    for clinic in clinics:
        if str(clinic.pk) == chosen:
            return clinic, clinics
    return clinics[0], clinics


def _filtered(request: HttpRequest) -> tuple[Organization, list[Organization], EventFilter, Any]:
    clinic, clinics = _clinic(request)
    event_filter, errors = parse_filter(request.GET)
    events = clinic_events(request.user, clinic, event_filter)
    return clinic, clinics, event_filter, (events, errors)


@require_GET
@login_required
def events(request: HttpRequest) -> HttpResponse:
    """The list of audit events of the reader's clinic, newest first, 50 to a page."""
    clinic, clinics, event_filter, (queryset, errors) = _filtered(request)
    context: dict[str, Any] = {
        "clinic": clinic,
        "clinics": clinics if len(clinics) > 1 else [],
        "values": {
            k: request.GET.get(k, "") for k in ("user", "patient", "action", "since", "until")
        },
        "errors": {e.field: e.message for e in errors},
    }
    if errors:
        return render(request, "audit/events.html", context, status=400)
    rows, next_before = page(queryset, event_filter)
    note_trail_read(
        actor=request.user,
        organization=clinic,
        details={**event_filter.as_details(), "page_before": event_filter.before or ""},
    )
    query = {k: v for k, v in context["values"].items() if v}
    if len(clinics) > 1:
        query["clinic"] = str(clinic.pk)
    tz = timeutil.zone(clinic.time_zone)
    here = reverse("audit:events")
    context.update(
        rows=[(event, event.occurred_at.astimezone(tz)) for event in rows],
        next_url=f"{here}?{urlencode({**query, 'before': next_before})}" if next_before else "",
        first_url=(f"{here}?{urlencode(query)}" if query else here) if event_filter.before else "",
        export_url=f"{reverse('audit:export')}?{urlencode(query)}"
        if query
        else reverse("audit:export"),
        is_filtered=bool(event_filter.as_details()),
    )
    return render(request, "audit/events.html", context)


@require_GET
@login_required
def export_csv(request: HttpRequest) -> HttpResponseBase:
    """The filtered events as CSV, streamed so a large export does not fill memory."""
    clinic, _clinics, event_filter, (queryset, errors) = _filtered(request)
    if errors:
        message = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    note_trail_read(
        actor=request.user,
        organization=clinic,
        details={**event_filter.as_details(), "format": "csv"},
        export=True,
    )
    lines: Iterator[str] = export.csv_lines(queryset.order_by("id").iterator(chunk_size=2000))
    stamp = timeutil.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{clinic.slug}-{stamp}.csv"'
    return response
