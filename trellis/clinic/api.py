"""API endpoints about the caller, their clinic, its people and staff invitations.

A session caller sees what the permission layer (`queries`) puts in their reach; an
integration token sees its own clinic. Errors use the API's one shape (trellis/api.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import StrictBool

from trellis.accounts import queries
from trellis.accounts.api import api_token_of, session_user
from trellis.accounts.models import (
    STAFF_ROLES,
    Invitation,
    Membership,
    Organization,
    Role,
)
from trellis.accounts.queries import Capability
from trellis.accounts.services import invitations as invitation_services
from trellis.clinic import queries as clinic_queries
from trellis.clinic import services as clinic_services
from trellis.core import timeutil
from trellis.core.errors import error_list
from trellis.core.schemas import ErrorItem, ErrorOut, RequestBody, refusals

router = Router(tags=["people"])

INTEGRATIONS_MAY_NOT_CHANGE_ACCESS = (
    "An API token cannot change anyone's role or access. "
    "A clinic admin does that from the People page in Trellis."
)

# The roles staff can be invited to (accounts.models.STAFF_ROLES, in the document's order).
StaffRole = Literal["admin", "coach", "researcher", "supervisor", "therapist"]


class OrganizationOut(Schema):
    id: uuid.UUID
    name: str
    slug: str
    time_zone: str
    locale: str

    @staticmethod
    def from_model(org: Organization) -> OrganizationOut:
        return OrganizationOut(
            id=org.pk, name=org.name, slug=org.slug, time_zone=org.time_zone, locale=org.locale
        )


class MembershipOut(Schema):
    id: uuid.UUID
    organization: uuid.UUID
    role: Role
    team: str | None


class MeOut(Schema):
    id: uuid.UUID
    email: str
    full_name: str
    preferred_name: str
    mfa_verified: bool
    memberships: list[MembershipOut]


class PersonOut(Schema):
    membership_id: uuid.UUID
    user_id: uuid.UUID
    full_name: str
    email: str
    role: Role
    team: str | None
    organization: uuid.UUID

    @staticmethod
    def from_membership(m: Membership) -> PersonOut:
        return PersonOut(
            membership_id=m.pk,
            user_id=m.user_id,
            full_name=m.user.full_name,
            email=m.user.email,
            role=Role(m.role),
            team=m.team.name if m.team else None,
            organization=m.organization_id,
        )


@router.get(
    "/me",
    response={200: MeOut, **refusals(401, 403)},
    summary="The signed-in person and their roles",
)
def me(request: HttpRequest) -> MeOut:
    user = session_user(request)
    memberships = clinic_queries.own_memberships(user)
    return MeOut(
        id=user.pk,
        email=user.email,
        full_name=user.full_name,
        preferred_name=user.preferred_name,
        mfa_verified=bool(user.is_verified()),  # type: ignore[attr-defined]
        memberships=[
            MembershipOut(
                id=m.pk,
                organization=m.organization_id,
                role=Role(m.role),
                team=m.team.name if m.team else None,
            )
            for m in memberships
        ],
    )


@router.get(
    "/organizations",
    response={200: list[OrganizationOut], **refusals(401)},
    summary="Clinics the caller belongs to",
)
def organizations(request: HttpRequest) -> list[OrganizationOut]:
    token = api_token_of(request)
    orgs = [token.organization] if token else list(queries.organizations_for(request.user))
    return [OrganizationOut.from_model(o) for o in orgs]


@router.get(
    "/people",
    response={200: list[PersonOut], **refusals(401, 422)},
    summary="People in the caller's reach",
)
def people(request: HttpRequest, role: Role | None = None) -> list[PersonOut]:
    if role and role not in Role.values:
        raise ValidationError({"role": f"Unknown role; use one of {', '.join(Role.values)}."})
    memberships = clinic_queries.people_in_reach(
        request.user, api_token_of(request), role=role or ""
    )
    return [PersonOut.from_membership(m) for m in memberships.order_by("user__full_name")[:500]]


@router.get(
    "/people/{membership_id}",
    response={200: PersonOut, **refusals(401, 404, 422)},
    summary="One person in the caller's reach",
)
def person(request: HttpRequest, membership_id: uuid.UUID) -> PersonOut:
    membership = queries.get_or_404(
        clinic_queries.people_in_reach(request.user, api_token_of(request)), membership_id
    )
    return PersonOut.from_membership(membership)


class AccessIn(RequestBody):
    """What an admin changes about someone's access: either or both."""

    role: Role | None = None
    active: StrictBool | None = None


class AccessOut(PersonOut):
    active: bool


@router.patch(
    "/people/{membership_id}",
    response={200: AccessOut, **refusals(400, 401, 403, 404, 422)},
    summary="Change someone's role or suspend or restore their access (clinic admins)",
)
def change_access(request: HttpRequest, membership_id: uuid.UUID, payload: AccessIn) -> AccessOut:
    if api_token_of(request) is not None:
        # Administration is a person's power: no token scope changes roles or access.
        raise HttpError(403, INTEGRATIONS_MAY_NOT_CHANGE_ACCESS)
    user = session_user(request)
    if not queries.organizations_with(user, Capability.MANAGE_PEOPLE).exists():
        raise HttpError(403, _("Only clinic admins can change people's access."))
    membership = queries.access_managed_membership(user, membership_id)
    if payload.role is None and payload.active is None:
        raise ValidationError({"role": _("Give a role, or active true or false.")})
    clinic_services.change_access(
        membership, role=payload.role, active=payload.active, actor=user, now=timeutil.now()
    )
    person = PersonOut.from_membership(membership)
    return AccessOut(**person.model_dump(), active=membership.is_active)


class InvitationIn(RequestBody):
    email: str
    full_name: str = ""
    role: StaffRole
    team: uuid.UUID | None = None
    organization: uuid.UUID | None = None


class InvitationOut(Schema):
    id: uuid.UUID
    organization: uuid.UUID
    email: str
    full_name: str
    role: Role
    team: str | None
    status: Literal["open", "expired", "revoked", "used"]
    invited_by: str | None
    created_at: datetime
    expires_at: datetime

    @staticmethod
    def from_model(invitation: Invitation, now: datetime) -> InvitationOut:
        problem = invitation_services.problem_with(invitation, now)
        return InvitationOut(
            id=invitation.pk,
            organization=invitation.organization_id,
            email=invitation.email,
            full_name=invitation.full_name,
            role=Role(invitation.role),
            team=invitation.team.name if invitation.team else None,
            status="open" if problem is None else problem.value,
            invited_by=invitation.invited_by.display_name if invitation.invited_by else None,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )


def _invitations_in_reach(request: HttpRequest) -> Any:
    token = api_token_of(request)
    if (
        token is None
        and not queries.organizations_with(request.user, Capability.MANAGE_PEOPLE).exists()
    ):
        raise HttpError(403, _("Only clinic admins can see invitations."))
    return clinic_queries.invitations_in_reach(request.user, token)


def _inviting_clinic(request: HttpRequest, wanted: uuid.UUID | None) -> Organization:
    token = api_token_of(request)
    allowed = clinic_queries.inviting_clinics(request.user, token)
    if token is None and not allowed.exists():
        raise HttpError(403, _("Only clinic admins can invite people."))
    if wanted is not None:
        org: Organization = queries.get_or_404(allowed, wanted)
        return org
    return allowed.order_by("name").first()  # type: ignore[return-value]


@router.get(
    "/invitations",
    response={200: list[InvitationOut], **refusals(401, 403)},
    summary="Invitations of the caller's clinic (admins and API tokens)",
)
def invitations(request: HttpRequest) -> list[InvitationOut]:
    now = timeutil.now()
    return [InvitationOut.from_model(i, now) for i in _invitations_in_reach(request)[:500]]


@router.post(
    "/invitations",
    response={201: InvitationOut, **refusals(400, 401, 403, 404, 409, 422)},
    summary="Invite a member of staff by email (admins and read-write API tokens)",
)
def create_invitation(request: HttpRequest, payload: InvitationIn) -> Status[Any]:
    org = _inviting_clinic(request, payload.organization)
    if payload.role not in STAFF_ROLES:
        staff = ", ".join(sorted(STAFF_ROLES))
        raise ValidationError({"role": f"Choose a staff role: {staff}."})
    team = None
    if payload.team is not None:
        team = clinic_queries.team_at(org, payload.team)
        if team is None:
            raise ValidationError({"team": _("No team with this id at this clinic.")})
    token = api_token_of(request)
    try:
        invitation, _secret = invitation_services.create_invitation(
            organization=org,
            email=payload.email,
            full_name=payload.full_name,
            role=payload.role,
            team=team,
            actor=None if token else session_user(request),
            api_token=token,
            now=timeutil.now(),
        )
    except invitation_services.DuplicateInvitation as duplicate:
        errors = [ErrorItem(**row) for row in error_list(duplicate)]
        return Status(
            409, ErrorOut(detail=_("There is already an open invitation."), errors=errors)
        )
    return Status(201, InvitationOut.from_model(invitation, timeutil.now()))
