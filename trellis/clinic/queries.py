"""Reads of the clinic pages that depend on who asks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from trellis.accounts.models import Organization
from trellis.accounts.queries import Capability, organizations_with
from trellis.audit.models import AuditEvent
from trellis.audit.queries import EventFilter, apply_filter


def audit_organizations(user: Any) -> QuerySet[Organization]:
    """Clinics whose audit trail the person may read (admins and supervisors)."""
    return organizations_with(user, Capability.VIEW_AUDIT).order_by("name")


def events_for(user: Any) -> QuerySet[AuditEvent]:
    """Audit events the person may read: those of clinics where they may view the audit."""
    org_ids = audit_organizations(user).values("pk")
    return AuditEvent.objects.filter(organization_id__in=org_ids)


def clinic_events(
    user: Any, clinic: Organization, event_filter: EventFilter
) -> QuerySet[AuditEvent]:
    """One clinic's audit events the person may read, narrowed by the filter (whose dates
    are whole days in the clinic's time zone)."""
    events = events_for(user).filter(organization_id=clinic.pk)
    return apply_filter(events, event_filter, tz_name=clinic.time_zone)
