"""API endpoints about the caller, their clinic and its people."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from trellis.accounts import queries
from trellis.accounts.models import ApiToken, Membership, Organization, User

router = Router(tags=["people"])


def api_token_of(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def session_user(request: HttpRequest) -> User:
    """The signed-in person; integration tokens have no person and get 403 here."""
    if api_token_of(request) is not None:
        raise HttpError(403, "This endpoint needs a signed-in person, not an API token.")
    return request.user  # type: ignore[return-value]


def memberships_in_reach(request: HttpRequest) -> Any:
    token = api_token_of(request)
    if token is not None:
        return Membership.objects.filter(organization=token.organization, is_active=True).select_related(
            "user", "organization", "team"
        )
    return queries.memberships_for(request.user).filter(is_active=True)


class OrganizationOut(Schema):
    id: uuid.UUID
    name: str
    slug: str
    time_zone: str
    locale: str

    @staticmethod
    def from_model(org: Organization) -> OrganizationOut:
        return OrganizationOut(id=org.pk, name=org.name, slug=org.slug, time_zone=org.time_zone, locale=org.locale)


class MembershipOut(Schema):
    id: uuid.UUID
    organization: uuid.UUID
    role: str
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
    role: str
    team: str | None
    organization: uuid.UUID

    @staticmethod
    def from_membership(m: Membership) -> PersonOut:
        return PersonOut(
            membership_id=m.pk,
            user_id=m.user_id,
            full_name=m.user.full_name,
            email=m.user.email,
            role=m.role,
            team=m.team.name if m.team else None,
            organization=m.organization_id,
        )


@router.get("/me", response=MeOut, summary="The signed-in person and their roles")
def me(request: HttpRequest) -> MeOut:
    user = session_user(request)
    memberships = queries.active_memberships(user).select_related("team")
    return MeOut(
        id=user.pk,
        email=user.email,
        full_name=user.full_name,
        preferred_name=user.preferred_name,
        mfa_verified=bool(user.is_verified()),  # type: ignore[attr-defined]
        memberships=[
            MembershipOut(id=m.pk, organization=m.organization_id, role=m.role, team=m.team.name if m.team else None)
            for m in memberships
        ],
    )


@router.get("/organizations", response=list[OrganizationOut], summary="Clinics the caller belongs to")
def organizations(request: HttpRequest) -> list[OrganizationOut]:
    token = api_token_of(request)
    orgs = [token.organization] if token else list(queries.organizations_for(request.user))
    return [OrganizationOut.from_model(o) for o in orgs]


@router.get("/people", response=list[PersonOut], summary="People in the caller's reach")
def people(request: HttpRequest, role: str | None = None) -> list[PersonOut]:
    memberships = memberships_in_reach(request)
    if role:
        memberships = memberships.filter(role=role)
    return [PersonOut.from_membership(m) for m in memberships.order_by("user__full_name")[:500]]


@router.get("/people/{membership_id}", response=PersonOut, summary="One person in the caller's reach")
def person(request: HttpRequest, membership_id: uuid.UUID) -> PersonOut:
    from django.http import Http404

    membership = memberships_in_reach(request).filter(pk=membership_id).first()
    if membership is None:
        raise Http404
    return PersonOut.from_membership(membership)
