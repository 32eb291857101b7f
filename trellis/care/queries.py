"""Which enrollments a person may open. Everything reading enrollments goes through here.

- A patient: their own enrollments.
- A coach or therapist: enrollments they actively support, and enrollments (at their
  clinic) of patients otherwise in their reach (their team's patients).
- A supervisor: every enrollment of their clinic.
- Clinic admins and researchers: none. Admins manage accounts, not clinical records;
  researchers get de-identified exports, never identifiable records.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from trellis.accounts.models import CLINICAL_ROLES, Role, User
from trellis.accounts.queries import _authenticated, _get_or_404, active_memberships, patients_for
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus


def enrollments_for(user: Any) -> QuerySet[Enrollment]:
    """Enrollments inside the person's reach."""
    if not _authenticated(user):
        return Enrollment.objects.none()
    mine = active_memberships(user)
    supervised = mine.filter(role=Role.SUPERVISOR).values("organization_id")
    supporting_orgs = mine.filter(role__in=CLINICAL_ROLES - {Role.SUPERVISOR}).values(
        "organization_id"
    )
    supported = CareTeamMember.objects.filter(supporter=user, active=True).values("enrollment_id")
    return Enrollment.objects.filter(
        Q(patient=user)
        | Q(organization_id__in=supervised)
        | Q(organization_id__in=supporting_orgs, pk__in=supported)
        | Q(
            organization_id__in=supporting_orgs,
            patient__in=patients_for(user).exclude(pk=user.pk).values("pk"),
        )
    ).select_related("patient", "organization", "program_version")


def access_enrollment(user: Any, pk: Any) -> Enrollment:
    """One enrollment in reach, or 404 (outside reach looks exactly like nothing)."""
    enrollment: Enrollment = _get_or_404(enrollments_for(user), pk)
    return enrollment


def current_enrollment(patient: User | Any) -> Enrollment | None:
    """The patient's most recently started active enrollment, if any."""
    if patient is None or getattr(patient, "pk", None) is None:
        return None
    return (
        Enrollment.objects.filter(patient=patient, status=EnrollmentStatus.ACTIVE)
        .select_related("program_version", "organization")
        .order_by("-started_at")
        .first()
    )


def supporters_of(enrollment: Enrollment) -> QuerySet[CareTeamMember]:
    """The active care team of one enrollment, primary supporters first."""
    return (
        CareTeamMember.objects.filter(enrollment=enrollment, active=True)
        .select_related("supporter")
        .order_by("role", "created_at")
    )
