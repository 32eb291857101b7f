"""Inviting a patient into a program, and enrolling them when they accept.

A clinician invites a patient by email and chooses the program, a provisional level of
support (triage suggests one after the baseline questionnaires, for a clinician to
confirm) and the supporters. The plan waits beside the invitation; when the patient
accepts, in the same transaction, they are enrolled and their getting-started steps open.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import (
    CLINICAL_ROLES,
    Invitation,
    Membership,
    Organization,
    Role,
    Team,
    User,
)
from trellis.accounts.queries import holds_role
from trellis.accounts.services import invitations as account_invitations
from trellis.accounts.services.invitations import create_invitation
from trellis.care.models import Enrollment, PatientInvitation, SupportLevel
from trellis.care.services import enroll
from trellis.measures.services import schedule_for_enrollment
from trellis.onboarding.services.getting_started import start_onboarding
from trellis.programs.models import ProgramVersion


def _is_clinician(user: User | None, organization: Organization) -> bool:
    return holds_role(user, organization, CLINICAL_ROLES)


@transaction.atomic
def invite_patient(
    *,
    organization: Organization,
    email: str,
    full_name: str,
    program_version: ProgramVersion,
    support_level: str,
    supporters: Sequence[User],
    actor: User,
    now: datetime,
    team: Team | None = None,
) -> tuple[Invitation, str]:
    """Invite a patient to the clinic and into a program; returns the invitation and token.

    Only the clinic's coaches, therapists and supervisors invite patients. The first
    supporter is the primary one.
    """
    if not _is_clinician(actor, organization):
        raise PermissionDenied(_("Only the clinic's coaches, therapists and supervisors do this."))
    if support_level not in SupportLevel.values:
        raise ValidationError({"support_level": _("Choose a level of support.")})
    if program_version is None or not ProgramVersion.objects.filter(pk=program_version.pk).exists():
        raise ValidationError({"program": _("Choose a program.")})
    supporters = list(dict.fromkeys(supporters))
    for supporter in supporters:
        if not _is_clinician(supporter, organization):
            raise ValidationError(
                {
                    "supporters": _("%(name)s is not a coach or therapist at this clinic.")
                    % {"name": supporter.display_name}
                }
            )
    invitation, token = create_invitation(
        organization=organization,
        email=email,
        role=Role.PATIENT,
        actor=actor,
        now=now,
        full_name=full_name,
        team=team,
    )
    plan = PatientInvitation.objects.create(
        invitation=invitation,
        program_version=program_version,
        support_level=support_level,
        supporters=[str(s.pk) for s in supporters],
    )
    audit.record(
        action="invitation.patient_plan",
        actor=actor,
        subject=plan,
        organization=organization,
        details={
            "program": program_version.program.slug,
            "version": program_version.number,
            "support_level": support_level,
            "supporters": plan.supporters,
        },
        at=now,
    )
    return invitation, token


def enroll_invited_patient(
    *, invitation: Invitation, patient: User, now: datetime
) -> Enrollment | None:
    """Called inside accept_invitation's transaction: enroll the new patient as planned and
    open their getting-started steps. An invitation without a plan enrolls nobody."""

    plan = (
        PatientInvitation.objects.select_for_update()
        .select_related("program_version")
        .filter(invitation=invitation, enrollment__isnull=True)
        .first()
    )
    if plan is None:
        return None
    wanted = list(plan.supporters)
    by_id = {str(u.pk): u for u in User.objects.filter(pk__in=wanted)}
    # A supporter who has left the clinic since the invitation is simply not added.
    supporters = [
        by_id[pk]
        for pk in wanted
        if pk in by_id and _is_clinician(by_id[pk], invitation.organization)
    ]
    enrollment = enroll_patient(
        patient=patient,
        program_version=plan.program_version,
        support_level=plan.support_level,
        supporters=supporters,
        actor=None,
        now=now,
        organization=invitation.organization,
    )
    plan.enrollment = enrollment
    plan.save(update_fields=["enrollment", "updated_at"])
    start_onboarding(enrollment, actor=patient, now=now)
    return enrollment


@transaction.atomic
def enroll_patient(
    *,
    patient: User,
    program_version: ProgramVersion,
    support_level: str,
    supporters: Sequence[User] = (),
    actor: User | None,
    now: datetime,
    organization: Organization | None = None,
) -> Enrollment:
    """Start a patient on a program: the enrollment with its care team (trellis.care) and
    the questionnaires it plans (baseline, weekly, end of program, follow-up), together."""
    enrollment = enroll(
        patient=patient,
        program_version=program_version,
        support_level=support_level,
        supporters=supporters,
        actor=actor,
        now=now,
        organization=organization,
    )
    schedule_for_enrollment(enrollment, now=now)
    return enrollment


@transaction.atomic
def accept_invitation(
    *, invitation: Invitation, now: datetime, password: str = "", full_name: str = ""
) -> Membership:
    """Join the clinic through an invitation (the account and its membership, see
    trellis.accounts.services.invitations); a patient invited into a program is enrolled at
    the same time, with their getting-started steps open."""
    membership = account_invitations.accept_invitation(
        invitation=invitation, now=now, password=password, full_name=full_name
    )
    if membership.role == Role.PATIENT:
        enroll_invited_patient(invitation=invitation, patient=membership.user, now=now)
    return membership
