"""API endpoints for the audit trail: the same list as the audit page, as JSON.

Only signed-in clinic admins and supervisors may read it; integration tokens may
not (the trail describes staff and patients alike, and is not an integration feed).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from trellis.audit.queries import EventFilter, page
from trellis.audit.services import note_trail_read
from trellis.clinic.queries import audit_organizations, clinic_events
from trellis.core.schemas import refusals
from trellis.core.timeutil import EARLIEST_DAY, LATEST_DAY

router = Router(tags=["audit"])


class EventFilters(Schema):
    user: str = ""
    patient: uuid.UUID | None = None
    action: str = ""
    since: date | None = Field(default=None, ge=EARLIEST_DAY, le=LATEST_DAY)
    until: date | None = Field(default=None, ge=EARLIEST_DAY, le=LATEST_DAY)
    before: int | None = Field(default=None, ge=1, le=2**63 - 1)
    clinic: uuid.UUID | None = None


class AuditEventOut(Schema):
    id: int
    event_id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    actor: str
    organization_id: uuid.UUID | None
    action: str
    object_type: str
    object_id: str
    patient_id: uuid.UUID | None
    ip: str | None
    details: dict[str, Any]


class AuditEventPage(Schema):
    items: list[AuditEventOut]
    next_before: int | None


@router.get(
    "/events",
    response={200: AuditEventPage, **refusals(400, 401, 403, 404, 422)},
    summary="List audit events of your clinic",
)
def list_events(request: HttpRequest, filters: Query[EventFilters]) -> dict[str, Any]:
    """Newest first, 50 to a page; pass `next_before` back as `before` for older events.

    Dates are whole days in the clinic's time zone; `action` matches an action or a
    family of actions (`auth` matches `auth.login`).
    """
    if getattr(request, "api_token", None) is not None:
        raise HttpError(403, _("Integration tokens cannot read the audit trail."))
    clinics = list(audit_organizations(request.user))
    if not clinics:
        raise HttpError(403, _("Only clinic admins and supervisors can read the audit trail."))
    clinic = next((c for c in clinics if c.pk == filters.clinic), clinics[0])
    if filters.clinic is not None and clinic.pk != filters.clinic:
        raise HttpError(404, _("Not found."))
    if filters.since and filters.until and filters.since > filters.until:
        raise HttpError(400, _("The end date must not be before the start date."))
    event_filter = EventFilter(
        user=filters.user.strip()[:254],
        patient=filters.patient,
        action=filters.action.strip()[:80],
        since=filters.since,
        until=filters.until,
        before=filters.before,
    )
    rows, next_before = page(clinic_events(request.user, clinic, event_filter), event_filter)
    note_trail_read(
        actor=request.user,
        organization=clinic,
        details=event_filter.as_details(),
        via="api",
    )
    items = [
        {
            "id": e.pk,
            "event_id": e.event_id,
            "occurred_at": e.occurred_at,
            "actor_id": e.actor_id,
            "actor": e.actor_label,
            "organization_id": e.organization_id,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "patient_id": e.patient_id,
            "ip": e.ip,
            "details": e.details,
        }
        for e in rows
    ]
    return {"items": items, "next_before": next_before}
