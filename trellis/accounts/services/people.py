"""Creating clinics, teams and people, and changing what someone is to a clinic."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Membership, Organization, Role, Team, User
from trellis.core import timeutil


@transaction.atomic
def create_organization(
    *,
    name: str,
    actor: User | None,
    time_zone: str = "America/New_York",
    locale: str = "en-US",
    slug: str = "",
    crisis_resources: str = "",
) -> Organization:
    """Open a new clinic on this Trellis installation."""
    if not name.strip():
        raise ValidationError({"name": _("A clinic needs a name.")})
    if not timeutil.is_valid_zone(time_zone):
        raise ValidationError({"time_zone": f"Unknown time zone {time_zone!r}."})
    org = Organization(
        name=name.strip(), slug=slug or slugify(name)[:80], time_zone=time_zone, locale=locale
    )
    if crisis_resources:
        org.crisis_resources = crisis_resources
    org.full_clean()
    org.save()
    audit.record(action="organization.create", actor=actor, subject=org, organization=org)
    return org


@transaction.atomic
def create_team(*, organization: Organization, name: str, actor: User | None) -> Team:
    """Add a team of staff to a clinic."""
    team = Team(organization=organization, name=name.strip())
    team.full_clean()
    team.save()
    audit.record(action="team.create", actor=actor, subject=team, organization=organization)
    return team


@transaction.atomic
def create_person(
    *,
    organization: Organization,
    email: str,
    full_name: str,
    role: str,
    actor: User | None,
    password: str | None = None,
    team: Team | None = None,
    preferred_name: str = "",
    phone: str = "",
) -> Membership:
    """Create a user with a role at a clinic (the account is usable once a password is set)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if team is not None and team.organization_id != organization.pk:
        raise ValidationError({"team": _("That team belongs to another clinic.")})
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {"email": _("Someone with this email address already has an account.")}
        )
    user = User(
        email=email, full_name=full_name.strip(), preferred_name=preferred_name, phone=phone
    )
    if password:
        from django.contrib.auth.password_validation import validate_password

        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    membership = Membership.objects.create(
        user=user, organization=organization, role=role, team=team
    )
    patient = user if role == Role.PATIENT else None
    audit.record(
        action="user.create",
        actor=actor,
        subject=user,
        organization=organization,
        patient=patient,
        details={"role": role},
    )
    return membership


@transaction.atomic
def change_role(*, membership: Membership, role: str, actor: User) -> Membership:
    """Give someone a different role at a clinic; recorded because it changes what they see."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if (membership.role == Role.PATIENT) != (role == Role.PATIENT):
        raise ValidationError(
            {"role": "A patient account cannot become a staff account, or the reverse."}
        )
    if membership.user_id == actor.pk:
        raise ValidationError({"role": _("You cannot change your own role; ask another admin.")})
    old = membership.role
    if old == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit.record(
        action="membership.role_change",
        actor=actor,
        subject=membership,
        organization=membership.organization_id,
        details={"user_id": str(membership.user_id), "from": old, "to": role},
    )
    return membership


@transaction.atomic
def set_membership_active(*, membership: Membership, active: bool, actor: User) -> Membership:
    """Suspend or restore someone's access to a clinic."""
    if membership.user_id == actor.pk:
        raise ValidationError({"is_active": _("You cannot suspend your own access.")})
    if membership.is_active == active:
        return membership
    membership.is_active = active
    membership.save(update_fields=["is_active", "updated_at"])
    audit.record(
        action="membership.activate" if active else "membership.suspend",
        actor=actor,
        subject=membership,
        organization=membership.organization_id,
        details={"user_id": str(membership.user_id)},
    )
    return membership
