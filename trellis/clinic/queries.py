"""Reads of the clinic pages and API that depend on who asks.

In the API the caller is a person (their reach, as on the pages) or an integration's token
(its one clinic); the reads taking `api_token` answer for either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from trellis.accounts.models import (
    CLINICAL_ROLES,
    STAFF_ROLES,
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Role,
    Team,
)
from trellis.accounts.queries import (
    Capability,
    active_memberships,
    api_tokens_for,
    care_team_for,
    invitations_for,
    organizations_with,
)
from trellis.audit.models import AuditEvent
from trellis.audit.queries import EventFilter, apply_filter
from trellis.care.queries import memberships_for, patients_for


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


def care_team_at(patient: Any, organization: Organization) -> list[Membership]:
    """The coaches and therapists a patient may see at the clinic, by role and name."""
    team = care_team_for(patient).filter(organization=organization)
    return sorted(team, key=lambda m: (m.role, m.user.display_name))


def people_counts(user: Any, organization: Organization) -> dict[str, int]:
    """How many staff and patients of the clinic are in the person's reach."""
    counts: dict[str, int] = (
        memberships_for(user)
        .filter(organization=organization, is_active=True)
        .aggregate(
            staff=Count("pk", filter=Q(role__in=STAFF_ROLES)),
            patients=Count("pk", filter=Q(role=Role.PATIENT)),
        )
    )
    return counts


def open_invitations(
    user: Any, *, now: datetime, organization: Organization | None = None
) -> QuerySet[Invitation]:
    """Invitations the person manages that are still waiting to be accepted (at one clinic,
    when given)."""
    invitations = invitations_for(user).filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )
    if organization is not None:
        invitations = invitations.filter(organization=organization)
    return invitations.select_related("team", "invited_by")


def people_for(user: Any, *, role: str = "") -> QuerySet[Membership]:
    """Everyone in the person's reach (one role only, when given), by clinic and name."""
    memberships = memberships_for(user).order_by("organization__name", "user__full_name")
    return memberships.filter(role=role) if role else memberships


def managed_clinic_ids(user: Any) -> set[Any]:
    """Ids of the clinics where the person manages people."""
    return set(organizations_with(user, Capability.MANAGE_PEOPLE).values_list("pk", flat=True))


def sees_patients(user: Any) -> bool:
    """Whether the person is a coach, therapist or supervisor somewhere (and so may invite
    patients)."""
    return active_memberships(user).filter(role__in=CLINICAL_ROLES).exists()


def has_in_reach(user: Any, patient_id: Any) -> bool:
    """Whether the patient's records are in the person's reach."""
    return patients_for(user).filter(pk=patient_id).exists()


def api_tokens_at(user: Any, organization: Organization) -> QuerySet[ApiToken]:
    """The clinic's API tokens, for a person who manages them."""
    return api_tokens_for(user).filter(organization=organization).select_related("created_by")


def own_memberships(user: Any) -> QuerySet[Membership]:
    """The person's own active roles, with their teams."""
    return active_memberships(user).select_related("team")


def people_in_reach(
    user: Any, api_token: ApiToken | None, *, role: str = ""
) -> QuerySet[Membership]:
    """Active memberships the caller may list: a token's clinic's, else the person's reach
    (one role only, when given)."""
    if api_token is not None:
        memberships = Membership.objects.filter(
            organization=api_token.organization, is_active=True
        ).select_related("user", "organization", "team")
    else:
        memberships = memberships_for(user).filter(is_active=True)
    return memberships.filter(role=role) if role else memberships


def invitations_in_reach(user: Any, api_token: ApiToken | None) -> QuerySet[Invitation]:
    """Invitations the caller may list: a token's clinic's, else those the person manages."""
    invitations = (
        Invitation.objects.filter(organization=api_token.organization)
        if api_token is not None
        else invitations_for(user)
    )
    return invitations.select_related("team", "invited_by")


def inviting_clinics(user: Any, api_token: ApiToken | None) -> QuerySet[Organization]:
    """Clinics the caller may invite staff to: a token's clinic, else those the person
    manages people at."""
    if api_token is not None:
        return Organization.objects.filter(pk=api_token.organization_id)
    return organizations_with(user, Capability.MANAGE_PEOPLE)


def team_at(organization: Organization, pk: Any) -> Team | None:
    """The clinic's team with this id, if there is one."""
    return Team.objects.filter(organization=organization, pk=pk).first()
