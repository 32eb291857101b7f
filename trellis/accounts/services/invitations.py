"""Inviting people to a clinic by email, and turning an invitation into an account.

An invitation is a single-use link that expires. Only the SHA-256 of its token is
stored, so a copy of the database cannot be used to join a clinic. The email goes
out after the transaction commits, so nobody is invited to a change that rolled back.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import (
    MANAGER_ROLES,
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Role,
    Team,
    User,
)
from trellis.accounts.services.people import create_person

INTEGRATIONS_MAY_NOT_INVITE_MANAGERS = (
    "An API token cannot invite a clinic admin or a supervisor. "
    "A clinic admin invites them from the People page in Trellis."
)


class InvitationProblem(StrEnum):
    """Why an invitation link can no longer be used."""

    EXPIRED = "expired"
    REVOKED = "revoked"
    USED = "used"


class DuplicateInvitation(ValidationError):
    """There is already an open invitation for this email at this clinic."""


class InvitationUnusable(Exception):
    """The invitation was used, revoked or expired between showing the form and accepting it."""

    def __init__(self, problem: InvitationProblem) -> None:
        self.problem = problem
        super().__init__(problem.value)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a link points at, or None for a token nobody issued."""
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.select_related("organization", "team", "invited_by")
        .filter(token_hash=token_digest(token))
        .first()
    )


def problem_with(invitation: Invitation, now: datetime) -> InvitationProblem | None:
    """None when the link can still be used at `now`."""
    if invitation.accepted_at is not None:
        return InvitationProblem.USED
    if invitation.revoked_at is not None:
        return InvitationProblem.REVOKED
    if invitation.expires_at <= now:
        return InvitationProblem.EXPIRED
    return None


def is_open(invitation: Invitation, now: datetime) -> bool:
    return problem_with(invitation, now) is None


def accept_url(token: str) -> str:
    base = settings.TRELLIS_BASE_URL.rstrip("/")
    return base + reverse("clinic:accept_invitation", kwargs={"token": token})


def _send_invitation_email(invitation: Invitation, token: str) -> None:
    inviter = invitation.invited_by.display_name if invitation.invited_by else _("Your clinic")
    days = settings.TRELLIS_INVITATION_DAYS
    subject = _("You are invited to join %(clinic)s on Trellis") % {
        "clinic": invitation.organization.name
    }
    greeting = invitation.full_name or invitation.email
    body = _(
        "Hello %(name)s,\n\n"
        "%(inviter)s has invited you to join %(clinic)s on Trellis as %(role)s.\n\n"
        "To accept, open this link and choose a password:\n\n%(link)s\n\n"
        "The link works once and expires in %(days)s days. If you did not expect this "
        "invitation, you can ignore this email.\n"
    ) % {
        "name": greeting,
        "inviter": inviter,
        "clinic": invitation.organization.name,
        "role": invitation.get_role_display(),
        "link": accept_url(token),
        "days": days,
    }
    EmailMessage(subject=subject, body=body, to=[invitation.email]).send()


@transaction.atomic
def create_invitation(
    *,
    organization: Organization,
    email: str,
    role: str,
    actor: User | None,
    now: datetime,
    full_name: str = "",
    team: Team | None = None,
    api_token: ApiToken | None = None,
) -> tuple[Invitation, str]:
    """Invite someone to a clinic in a role; returns the invitation and its one-time token.

    Works for any role (staff now, patients later); callers decide which roles they offer.
    An integration (`api_token`) may never invite a clinic admin or a supervisor, whatever
    its scope: administration is a person's power, never a token's (PermissionDenied).
    The token is returned only so the email can carry it; it is never stored in clear.
    """
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a role.")})
    if api_token is not None and role in MANAGER_ROLES:
        raise PermissionDenied(INTEGRATIONS_MAY_NOT_INVITE_MANAGERS)
    if team is not None and team.organization_id != organization.pk:
        raise ValidationError({"team": _("That team belongs to another clinic.")})
    email = User.objects.normalize_email(email.strip()).lower()
    if not email:
        raise ValidationError({"email": _("Enter an email address.")})
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person already has an account at this clinic.")})
    # Lock the clinic row so two admins inviting the same email at once cannot both succeed.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    pending = Invitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    )
    if pending.exists():
        raise DuplicateInvitation(
            {"email": _("There is already an open invitation for this email address.")}
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization=organization,
        email=email,
        full_name=full_name.strip(),
        role=role,
        team=team,
        token_hash=token_digest(token),
        invited_by=actor,
        expires_at=now + timedelta(days=settings.TRELLIS_INVITATION_DAYS),
    )
    # invited_by is empty when an integration token invites (the model does not mark it blank).
    invitation.full_clean(exclude=["invited_by"])
    invitation.save()
    details: dict[str, str] = {"email": email, "role": role}
    if team is not None:
        details["team"] = team.name
    if api_token is not None:
        details["api_token"] = api_token.prefix
    audit.record(
        action="invitation.create",
        actor=actor,
        actor_label=f"API token {api_token.prefix}" if actor is None and api_token else "",
        subject=invitation,
        organization=organization,
        details=details,
    )
    transaction.on_commit(lambda: _send_invitation_email(invitation, token))
    return invitation, token


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, actor: User, now: datetime) -> Invitation:
    """Withdraw an invitation so its link stops working. Revoking twice changes nothing."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError(
            _("This invitation was already accepted; suspend the person instead.")
        )
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = now
    invitation.save(update_fields=["revoked_at", "updated_at"])
    audit.record(
        action="invitation.revoke",
        actor=actor,
        subject=invitation,
        organization=invitation.organization_id,
        details={"email": invitation.email},
    )
    return invitation


@transaction.atomic
def record_refused_invitation(*, invitation: Invitation, problem: InvitationProblem) -> None:
    """Note that someone opened a link that no longer works (a security event)."""
    audit.record(
        action="invitation.rejected",
        subject=invitation,
        organization=invitation.organization_id,
        details={"reason": problem.value, "email": invitation.email},
    )


def existing_account(invitation: Invitation) -> User | None:
    """The account already registered under the invited email, if any."""
    return User.objects.filter(email__iexact=invitation.email).first()


@transaction.atomic
def accept_invitation(
    *,
    invitation: Invitation,
    now: datetime,
    password: str = "",
    full_name: str = "",
) -> Membership:
    """Join the clinic through an invitation: create the account (or add the clinic to an
    existing account with that email) and use up the link.

    For a new account `password` becomes its password; for an existing account the caller
    has already checked the person's current password. A patient invited into a program is
    enrolled by `trellis.onboarding.services.accept_invitation`, which calls this first.
    """
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("organization", "team")
        .get(pk=invitation.pk)
    )
    problem = problem_with(invitation, now)
    if problem is not None:
        raise InvitationUnusable(problem)
    user = existing_account(invitation)
    if user is None:
        membership = create_person(
            organization=invitation.organization,
            email=invitation.email,
            full_name=full_name.strip() or invitation.full_name or invitation.email,
            role=invitation.role,
            team=invitation.team,
            password=password,
            actor=None,
        )
        user = membership.user
    else:
        if Membership.objects.filter(user=user, organization=invitation.organization).exists():
            raise ValidationError(_("This account already belongs to this clinic."))
        membership = Membership.objects.create(
            user=user,
            organization=invitation.organization,
            role=invitation.role,
            team=invitation.team,
        )
    invitation.accepted_at = now
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user", "updated_at"])
    audit.record(
        action="invitation.accept",
        actor=user,
        subject=invitation,
        organization=invitation.organization_id,
        patient=user if invitation.role == Role.PATIENT else None,
        details={"role": invitation.role, "membership_id": str(membership.pk)},
    )
    return membership
