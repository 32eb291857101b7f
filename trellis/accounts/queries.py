"""Who may see what: the single layer every view and endpoint goes through.

Querysets named `*_for(user)` return only rows inside the caller's reach; the
`access_*(user, id)` helpers return one row or raise Http404, so an identifier
outside a person's reach looks exactly like one that does not exist. A patient
never sees another patient's anything; staff never see another clinic's anything.

A coach's or therapist's caseload is the patients of their own team plus the
patients whose active enrollment lists them as a supporter; supervisors see every
patient of their clinic. Researchers see
no identifiable patient; platform operators (superusers) see no clinic data.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

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
from trellis.accounts.tokens import digest


class Capability(StrEnum):
    """Things a role may do at a clinic, beyond seeing the people in reach."""

    MANAGE_PEOPLE = "manage_people"  # invite staff, change roles, deactivate
    MANAGE_TOKENS = "manage_tokens"  # create and revoke API tokens
    MANAGE_SETTINGS = "manage_settings"  # clinic name, time zone, crisis resources
    VIEW_AUDIT = "view_audit"  # the clinic's audit trail and its CSV export
    VIEW_PATIENTS = "view_patients"  # patients on a caseload


ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.PATIENT: frozenset(),
    Role.RESEARCHER: frozenset(),
    Role.COACH: frozenset({Capability.VIEW_PATIENTS}),
    Role.THERAPIST: frozenset({Capability.VIEW_PATIENTS}),
    Role.SUPERVISOR: frozenset({Capability.VIEW_PATIENTS, Capability.VIEW_AUDIT}),
    Role.ADMIN: frozenset(
        {
            Capability.MANAGE_PEOPLE,
            Capability.MANAGE_TOKENS,
            Capability.MANAGE_SETTINGS,
            Capability.VIEW_AUDIT,
        }
    ),
}


def is_signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def active_memberships(user: Any) -> QuerySet[Membership]:
    if not is_signed_in(user):
        return Membership.objects.none()
    return Membership.objects.filter(user=user, is_active=True, organization__isnull=False)


def is_staff(user: Any) -> bool:
    """Holds any staff role at any clinic (and so must use MFA)."""
    return active_memberships(user).filter(role__in=STAFF_ROLES).exists()


def holds_role(
    user: Any, organization: Organization | uuid.UUID | str, roles: Collection[str]
) -> bool:
    """Whether the person holds one of `roles` at the clinic, in a membership still active."""
    if user is None:
        return False
    org_id: Any = getattr(organization, "pk", organization)
    return Membership.objects.filter(
        user=user, organization_id=org_id, role__in=roles, is_active=True
    ).exists()


def is_patient(user: Any) -> bool:
    """Is a patient of any clinic."""
    return active_memberships(user).filter(role=Role.PATIENT).exists()


def membership_in(user: Any, organization: Organization | uuid.UUID | str) -> Membership | None:
    org_id: Any = getattr(organization, "pk", organization)
    return (
        active_memberships(user)
        .filter(organization_id=org_id)
        .select_related("organization")
        .first()
    )


def primary_membership(user: Any) -> Membership | None:
    """The membership a person's pages are about (the first clinic, staff roles first)."""
    memberships = list(active_memberships(user).select_related("organization", "team"))
    if not memberships:
        return None
    memberships.sort(key=lambda m: (m.role == Role.PATIENT, m.organization.name))
    return memberships[0]


def organizations_with(user: Any, capability: Capability) -> QuerySet[Organization]:
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]
    org_ids = active_memberships(user).filter(role__in=roles).values("organization_id")
    return Organization.objects.filter(pk__in=org_ids)


def can(user: Any, capability: Capability, organization: Organization | uuid.UUID | str) -> bool:
    org_id: Any = getattr(organization, "pk", organization)
    return organizations_with(user, capability).filter(pk=org_id).exists()


def organizations_for(user: Any) -> QuerySet[Organization]:
    """Clinics the person belongs to in any role."""
    return Organization.objects.filter(pk__in=active_memberships(user).values("organization_id"))


def teams_for(user: Any) -> QuerySet[Team]:
    staff_orgs = active_memberships(user).filter(role__in=STAFF_ROLES).values("organization_id")
    return Team.objects.filter(organization_id__in=staff_orgs)


def api_tokens_for(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(
        organization__in=organizations_with(user, Capability.MANAGE_TOKENS)
    )


def usable_api_token(secret: str) -> ApiToken | None:
    """The unrevoked token with this secret, with its clinic; None for any other secret."""
    return (
        ApiToken.objects.select_related("organization")
        .filter(token_hash=digest(secret), revoked_at__isnull=True)
        .first()
    )


def invitations_for(user: Any) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization__in=organizations_with(user, Capability.MANAGE_PEOPLE)
    )


def get_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(_("Not found")) from None


def access_organization(user: Any, pk: Any) -> Organization:
    return get_or_404(organizations_for(user), pk)


def access_managed_membership(user: Any, pk: Any) -> Membership:
    """A membership the caller may change (admins of that clinic only)."""
    queryset = Membership.objects.filter(
        organization__in=organizations_with(user, Capability.MANAGE_PEOPLE)
    ).select_related("user", "organization")
    return get_or_404(queryset, pk)


def access_api_token(user: Any, pk: Any) -> ApiToken:
    return get_or_404(api_tokens_for(user), pk)


def access_invitation(user: Any, pk: Any) -> Invitation:
    return get_or_404(invitations_for(user), pk)


def care_team_for(user: Any) -> QuerySet[Membership]:
    """The coaches and therapists of a patient's team(s): the names a patient may see."""
    patient_teams = active_memberships(user).filter(role=Role.PATIENT, team__isnull=False)
    return Membership.objects.filter(
        is_active=True,
        role__in=CLINICAL_ROLES - {Role.SUPERVISOR},
        team_id__in=patient_teams.values("team_id"),
        organization_id__in=patient_teams.values("organization_id"),
    ).select_related("user", "team")
