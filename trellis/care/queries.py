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
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from trellis.accounts.models import CLINICAL_ROLES, Membership, Role, User
from trellis.accounts.queries import _authenticated, _get_or_404, active_memberships
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus, Preferences
from trellis.core import timeutil


def enrollments_for(user: Any) -> QuerySet[Enrollment]:
    """Enrollments inside the person's reach.

    The person's roles are read first (one small query), so the enrollment query holds
    only the branches that apply: a patient's is a plain lookup by patient.
    """
    if not _authenticated(user):
        return Enrollment.objects.none()
    roles = list(active_memberships(user).values_list("role", "organization_id", "team_id"))
    reach = Q(patient=user)
    supervised = {org for role, org, _team in roles if role == Role.SUPERVISOR}
    if supervised:
        reach |= Q(organization_id__in=supervised)
    supporting = {org for role, org, _team in roles if role in CLINICAL_ROLES - {Role.SUPERVISOR}}
    if supporting:
        supported = CareTeamMember.objects.filter(supporter=user, active=True)
        reach |= Q(organization_id__in=supporting, pk__in=supported.values("enrollment_id"))
        teams = {
            team
            for role, _org, team in roles
            if role in CLINICAL_ROLES - {Role.SUPERVISOR} and team is not None
        }
        if teams:
            team_patients = Membership.objects.filter(
                role=Role.PATIENT, is_active=True, team_id__in=teams
            ).values("user_id")
            reach |= Q(organization_id__in=supporting, patient_id__in=team_patients)
    return Enrollment.objects.filter(reach).select_related(
        "patient", "organization", "program_version"
    )


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


def patient_zone(enrollment: Enrollment) -> ZoneInfo:
    """The patient's own time zone if they chose one, else their clinic's."""
    name = (
        Preferences.objects.filter(user_id=enrollment.patient_id)
        .values_list("time_zone", flat=True)
        .first()
    ) or enrollment.organization.time_zone
    try:
        return timeutil.zone(name)
    except ValueError:
        return timeutil.UTC
