"""Which enrollments a person may open. Everything reading enrollments goes through here.

- A patient: their own enrollments.
- A coach or therapist: enrollments they actively support, and enrollments (at their
  clinic) of patients otherwise in their reach (their team's patients).
- A supervisor: every enrollment of their clinic.
- Clinic admins and researchers: none. Admins manage accounts, not clinical records;
  researchers get de-identified exports, never identifiable records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from trellis.accounts.models import CLINICAL_ROLES, STAFF_ROLES, Membership, Role, User
from trellis.accounts.queries import active_memberships, get_or_404, is_signed_in
from trellis.care.models import (
    CareNote,
    CareTeamMember,
    Enrollment,
    EnrollmentStatus,
    Onboarding,
    OnboardingStage,
    Preferences,
    StepChangeStatus,
    SteppedCareChange,
    SupportLevel,
)
from trellis.core import timeutil
from trellis.core.rows import rows_where

# How long a confirmed change of support stays on the patient's Today page.
NOTICE_DAYS = 14
# The rows an enrollment in reach comes with.
READ_WITH = ("patient", "organization", "program_version")


def enrollments_for(user: Any) -> QuerySet[Enrollment]:
    """Enrollments inside the person's reach.

    The person's roles are read first (one small query), so the enrollment query holds
    only the branches that apply: a patient's is a plain lookup by patient.
    """
    if not is_signed_in(user):
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
    return Enrollment.objects.filter(reach).select_related(*READ_WITH)


def access_enrollment(user: Any, pk: Any) -> Enrollment:
    """One enrollment in reach, or 404 (outside reach looks exactly like nothing)."""
    enrollment: Enrollment = get_or_404(enrollments_for(user), pk)
    return enrollment


def own_enrollment(user: Any, pk: Any, *, related: Sequence[str] = READ_WITH) -> Enrollment | None:
    """The enrollment `pk` if `user` is its patient, else None (someone else's, or none).

    A person's own enrollments are always in their reach (enrollments_for), so a patient's
    write needs no roles read: one query by primary key, with only the `related` rows the
    write uses. When it is None the caller asks access_enrollment, which tells a 404
    (outside reach) from an enrollment the caller may see but not write in.
    """
    if not is_signed_in(user):
        return None
    try:
        if related:
            mine = Enrollment.objects.select_related(*related).filter(patient_id=user.pk)
            enrollment = mine.get(pk=pk)
        else:  # the enrollment row alone, read without building an ORM query (core.rows)
            enrollment = rows_where(Enrollment, id=pk, patient_id=user.pk)[0]
    except (Enrollment.DoesNotExist, IndexError, ValueError, TypeError, ValidationError):
        return None
    if "patient" not in related:
        enrollment.patient = user  # the same row, already read for this request
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


def onboarding_of(enrollment: Enrollment) -> Onboarding | None:
    return Onboarding.objects.filter(enrollment=enrollment).first()


def simple_mode_of(user: Any) -> bool:
    """Whether the person chose simple mode (one thing on each screen)."""
    if getattr(user, "pk", None) is None:
        return False
    return bool(
        Preferences.objects.filter(user_id=user.pk).values_list("simple_mode", flat=True).first()
    )


def latest_enrollment(patient: Any) -> Enrollment | None:
    """The patient's current enrollment, else the one that ended last (withdrawn, finished
    or discharged): where a late answer of theirs belongs."""
    return current_enrollment(patient) or (
        Enrollment.objects.filter(patient_id=getattr(patient, "pk", None))
        .select_related("program_version", "organization")
        .order_by("-started_at")
        .first()
    )


def pending_onboarding(user: Any) -> Onboarding | None:
    """The unfinished onboarding of the patient's current enrollment, if any.

    Enrollments made by a clinician directly (and the demo's) have no onboarding row and
    count as already started.
    """
    enrollment = current_enrollment(user) if getattr(user, "is_authenticated", False) else None
    if enrollment is None:
        return None
    onboarding = onboarding_of(enrollment)
    if onboarding is None or onboarding.stage == OnboardingStage.DONE:
        return None
    onboarding.enrollment = enrollment
    return onboarding


def support_notice(enrollment: Enrollment) -> str:
    """What Today tells the patient about their level of support, in plain words."""
    level = SupportLevel(enrollment.support_level).label
    if enrollment.support_level_confirmed_at is not None:
        return _("Your care team has confirmed your support: %(level)s.") % {"level": level}
    if enrollment.suggested_support_level:
        return _(
            "Thank you for answering the questions. Your care team will look at your answers "
            "and confirm the support that suits you best. Until then you are on: %(level)s."
        ) % {"level": level}
    return ""


def support_change_notices(enrollment: Enrollment | None, *, now: datetime) -> list[str]:
    """Plain-words notices of recent confirmed changes of support, for the patient's Today."""
    if enrollment is None:
        return []
    return list(
        SteppedCareChange.objects.filter(
            enrollment=enrollment,
            status=StepChangeStatus.CONFIRMED,
            decided_at__gte=now - timedelta(days=NOTICE_DAYS),
        )
        .exclude(patient_notice="")
        .order_by("-decided_at")
        .values_list("patient_notice", flat=True)[:3]
    )


def care_notes_of(enrollment: Enrollment, *, limit: int = 50) -> list[CareNote]:
    """The newest care notes of an enrollment (the caller has checked reach)."""
    return list(CareNote.objects.filter(enrollment=enrollment).select_related("author")[:limit])


def patients_for(user: Any) -> QuerySet[User]:
    """Patients whose records the person may open: themselves, or their caseload."""
    if not is_signed_in(user):
        return User.objects.none()
    mine = active_memberships(user)
    whole_clinic = mine.filter(role=Role.SUPERVISOR).values("organization_id")
    team_roles = mine.filter(role__in=CLINICAL_ROLES - {Role.SUPERVISOR}, team__isnull=False)
    patient_memberships = Membership.objects.filter(role=Role.PATIENT, is_active=True).filter(
        Q(organization_id__in=whole_clinic) | Q(team_id__in=team_roles.values("team_id"))
    )
    return User.objects.filter(
        Q(pk=user.pk, memberships__role=Role.PATIENT)
        | Q(pk__in=patient_memberships.values("user_id"))
        | Q(pk__in=_supported_patients(user, mine))
    ).distinct()


def _supported_patients(user: Any, mine: QuerySet[Membership]) -> QuerySet[Any]:
    """Patients whose active enrollment lists this coach or therapist as an active supporter
    (at a clinic where they still hold that role, and the patient is still its patient)."""
    supporting_orgs = mine.filter(role__in=CLINICAL_ROLES - {Role.SUPERVISOR}).values(
        "organization_id"
    )
    return Enrollment.objects.filter(
        status=EnrollmentStatus.ACTIVE,
        organization_id__in=supporting_orgs,
        care_team__supporter=user,
        care_team__active=True,
        patient__memberships__organization_id=F("organization_id"),
        patient__memberships__role=Role.PATIENT,
        patient__memberships__is_active=True,
    ).values("patient_id")


def memberships_for(user: Any) -> QuerySet[Membership]:
    """Memberships the person may list: their own, colleagues' at clinics where they are
    staff, and patients' memberships only where the patient is in reach (or for admins,
    who manage accounts but see no clinical record)."""
    if not is_signed_in(user):
        return Membership.objects.none()
    mine = active_memberships(user)
    staff_orgs = mine.filter(role__in=STAFF_ROLES).values("organization_id")
    admin_orgs = mine.filter(role=Role.ADMIN).values("organization_id")
    return Membership.objects.filter(
        Q(user=user)
        | Q(organization_id__in=staff_orgs, role__in=STAFF_ROLES)
        | Q(organization_id__in=admin_orgs)
        | Q(
            role=Role.PATIENT,
            user__in=patients_for(user).values("pk"),
            organization_id__in=staff_orgs,
        )
    ).select_related("user", "organization", "team")


def users_for(user: Any) -> QuerySet[User]:
    """People whose name and contact the person may see."""
    if not is_signed_in(user):
        return User.objects.none()
    return User.objects.filter(
        Q(pk=user.pk) | Q(pk__in=memberships_for(user).values("user_id"))
    ).distinct()


def access_user(user: Any, pk: Any) -> User:
    return get_or_404(users_for(user), pk)


def access_patient(user: Any, pk: Any) -> User:
    return get_or_404(patients_for(user), pk)


def access_membership(user: Any, pk: Any) -> Membership:
    return get_or_404(memberships_for(user), pk)
