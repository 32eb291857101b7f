"""Enrolling patients in programs, choosing who supports them, and ending an enrollment.

Every function here is one thing a clinician (or the demo, or a job) does; each runs in
one transaction and writes its audit row in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import CLINICAL_ROLES, Membership, Organization, Role, User
from trellis.accounts.queries import holds_role
from trellis.care.models import (
    CareTeamMember,
    Enrollment,
    EnrollmentStatus,
    SupporterRole,
    SupportLevel,
)
from trellis.core import timeutil
from trellis.programs.models import ProgramVersion

ENDED = (EnrollmentStatus.COMPLETED, EnrollmentStatus.WITHDRAWN, EnrollmentStatus.DISCHARGED)
MAX_END_REASON = 200


def _patient_clinic(patient: User, organization: Organization | None) -> Organization:
    memberships = Membership.objects.filter(
        user=patient, role=Role.PATIENT, is_active=True
    ).select_related("organization")
    if organization is not None:
        memberships = memberships.filter(organization=organization)
    membership = memberships.order_by("created_at").first()
    if membership is None:
        raise ValidationError({"patient": _("This person is not a patient of the clinic.")})
    return membership.organization


def _check_supporter(supporter: User, organization: Organization) -> None:
    if not holds_role(supporter, organization, CLINICAL_ROLES):
        raise ValidationError(
            {
                "supporters": (
                    f"{supporter.display_name} is not a coach, therapist or supervisor "
                    "at this clinic."
                )
            }
        )


def _check_actor(actor: User | None, organization: Organization) -> None:
    """Enrollment decisions are clinical: only clinical staff of the clinic (or the system)."""
    if actor is None:
        return
    if not holds_role(actor, organization, CLINICAL_ROLES):
        raise PermissionDenied(
            _("Only the clinic's coaches, therapists and supervisors may do this.")
        )


@transaction.atomic
def enroll(
    *,
    patient: User,
    program_version: ProgramVersion,
    support_level: str,
    supporters: Iterable[User] = (),
    actor: User | None,
    now: datetime | None = None,
    organization: Organization | None = None,
) -> Enrollment:
    """Start a patient on one program version at their clinic, with their supporters.

    This is the enrollment alone: `trellis.onboarding.services.enroll_patient` also plans
    the patient's questionnaires, in the same transaction.

    The first supporter listed is the primary one. A patient may hold one active
    enrollment per program version.
    """
    now = now or timeutil.now()
    if support_level not in SupportLevel.values:
        raise ValidationError({"support_level": f"Unknown support level {support_level!r}."})
    if program_version is None or not ProgramVersion.objects.filter(pk=program_version.pk).exists():
        raise ValidationError({"program_version": _("That program version does not exist.")})
    clinic = _patient_clinic(patient, organization)
    _check_actor(actor, clinic)
    supporters = list(dict.fromkeys(supporters))
    for supporter in supporters:
        _check_supporter(supporter, clinic)
    if Enrollment.objects.filter(
        patient=patient, program_version=program_version, status=EnrollmentStatus.ACTIVE
    ).exists():
        raise ValidationError(
            {"program_version": "This patient is already working through this program."}
        )
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                patient=patient,
                organization=clinic,
                program_version=program_version,
                support_level=support_level,
                started_at=now,
            )
    except IntegrityError:
        # Someone enrolled the same patient in the same version a moment ago.
        raise ValidationError(
            {"program_version": "This patient is already working through this program."}
        ) from None
    for index, supporter in enumerate(supporters):
        CareTeamMember.objects.create(
            enrollment=enrollment,
            supporter=supporter,
            role=SupporterRole.PRIMARY if index == 0 else SupporterRole.SECONDARY,
        )
    audit.record(
        action="enrollment.create",
        actor=actor,
        subject=enrollment,
        patient=patient,
        organization=clinic,
        details={
            "program": program_version.program.slug,
            "version": program_version.number,
            "support_level": support_level,
            "supporters": [str(s.pk) for s in supporters],
        },
        at=now,
    )
    return enrollment


@transaction.atomic
def assign_supporter(
    enrollment: Enrollment,
    *,
    supporter: User,
    actor: User | None,
    role: str = SupporterRole.SECONDARY,
    now: datetime | None = None,
) -> CareTeamMember:
    """Add a coach or therapist to an enrollment's care team (or bring them back)."""
    if role not in SupporterRole.values:
        raise ValidationError({"role": f"Unknown supporter role {role!r}."})
    _check_actor(actor, enrollment.organization)
    _check_supporter(supporter, enrollment.organization)
    member = (
        CareTeamMember.objects.select_for_update()
        .filter(enrollment=enrollment, supporter=supporter)
        .first()
    )
    if member is None:
        member = CareTeamMember.objects.create(
            enrollment=enrollment, supporter=supporter, role=role
        )
    elif member.active and member.role == role:
        return member
    else:
        member.active = True
        member.role = role
        member.save(update_fields=["active", "role", "updated_at"])
    audit.record(
        action="enrollment.supporter_assign",
        actor=actor,
        subject=member,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"enrollment": str(enrollment.pk), "supporter": str(supporter.pk), "role": role},
        at=now,
    )
    return member


@transaction.atomic
def remove_supporter(
    enrollment: Enrollment, *, supporter: User, actor: User | None, now: datetime | None = None
) -> CareTeamMember | None:
    """Take a supporter off an enrollment's care team. The row stays, marked inactive."""
    _check_actor(actor, enrollment.organization)
    member = (
        CareTeamMember.objects.select_for_update()
        .filter(enrollment=enrollment, supporter=supporter, active=True)
        .first()
    )
    if member is None:
        return None
    member.active = False
    member.save(update_fields=["active", "updated_at"])
    audit.record(
        action="enrollment.supporter_remove",
        actor=actor,
        subject=member,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"enrollment": str(enrollment.pk), "supporter": str(supporter.pk)},
        at=now,
    )
    return member


@transaction.atomic
def end_enrollment(
    enrollment: Enrollment,
    *,
    status: str,
    reason: str,
    actor: User | None,
    now: datetime | None = None,
) -> Enrollment:
    """Close an enrollment as completed, withdrawn or discharged, saying why."""
    now = now or timeutil.now()
    if status not in ENDED:
        raise ValidationError(
            {"status": "An enrollment ends as completed, withdrawn or discharged."}
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say briefly why the enrollment ends.")})
    if len(reason) > MAX_END_REASON:
        raise ValidationError({"reason": f"Keep the reason under {MAX_END_REASON} characters."})
    _check_actor(actor, enrollment.organization)
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if locked.status != EnrollmentStatus.ACTIVE:
        raise ValidationError({"status": _("This enrollment has already ended.")})
    locked.status = status
    locked.ended_at = now
    locked.end_reason = reason
    locked.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    audit.record(
        action="enrollment.end",
        actor=actor,
        subject=locked,
        patient=locked.patient_id,
        organization=locked.organization_id,
        details={"status": status, "reason_chars": len(reason)},
        at=now,
    )
    enrollment.status, enrollment.ended_at, enrollment.end_reason = status, now, reason
    return locked
