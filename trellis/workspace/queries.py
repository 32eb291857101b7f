"""Reads of the supporter's workspace: a patient's record in reach, a change of support in
reach, who may decide one, and the supervisor's view of how support is spread.

The caseload's own reads are in `caseload`, the record's timeline in `record`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, UUIDField
from django.http import Http404
from django.utils.translation import gettext as _

from trellis.accounts.models import CLINICAL_ROLES, Membership, Role, User
from trellis.accounts.queries import active_memberships
from trellis.alerts.models import AlertState
from trellis.appointments.models import Appointment
from trellis.care.models import (
    CareTeamMember,
    Enrollment,
    EnrollmentStatus,
    SteppedCareChange,
)
from trellis.care.queries import access_enrollment, enrollments_for
from trellis.care.services import DECIDING_ROLES
from trellis.messaging.models import Message
from trellis.messaging.queries import median_seconds, reply_times_by_supporter
from trellis.programs.models import Program

# The supervisor's view looks back this many weeks.
WEEKS = 4
# The supervisor's reassigning list shows at most this many patients.
REASSIGN_LIMIT = 500


def access_patient_enrollment(user: User, pk: Any) -> Enrollment:
    """An enrollment of a patient in the supporter's reach, or 404 (a supporter who is also
    a patient somewhere does not open their own record here)."""
    enrollment = access_enrollment(user, pk)
    if enrollment.patient_id == user.pk:
        raise Http404(_("There is no such patient in your reach."))
    return enrollment


def access_session_of(enrollment: Enrollment, appointment_id: Any) -> Appointment:
    """A live session of this enrollment (already in reach), or 404: another enrollment's
    session looks the same as one that does not exist."""
    session = (
        Appointment.objects.filter(enrollment=enrollment, pk=appointment_id)
        .select_related("supporter")
        .first()
    )
    if session is None:
        raise Http404(_("There is no such session of this patient."))
    return session


def access_step_change(user: User, pk: Any) -> SteppedCareChange:
    """A change of support of an enrollment in reach, or 404."""
    try:
        change = (
            SteppedCareChange.objects.filter(
                pk=pk, enrollment__in=enrollments_for(user).exclude(patient=user)
            )
            .select_related("enrollment__organization", "enrollment__patient")
            .first()
        )
    except ValidationError:  # a malformed id
        change = None
    if change is None:
        raise Http404(_("There is no such suggestion in your reach."))
    return change


def is_supervisor(user: User) -> bool:
    """Whether the person supervises at any clinic (and so may reassign patients)."""
    return active_memberships(user).filter(role=Role.SUPERVISOR).exists()


def may_decide_step_change(user: User, enrollment: Enrollment) -> bool:
    """Whether the person may confirm or decline a change of this patient's support."""
    return (
        active_memberships(user)
        .filter(organization_id=enrollment.organization_id, role__in=DECIDING_ROLES)
        .exists()
    )


def caseload_programs(user: User) -> list[tuple[str, str]]:
    """(slug, title) of the programs the person's active patients are in, to filter by."""
    return list(
        Program.objects.filter(
            versions__enrollments__in=enrollments_for(user).filter(status=EnrollmentStatus.ACTIVE)
        )
        .distinct()
        .values_list("slug", "title")
    )


def supervised_organizations(user: User) -> list[Any]:
    """Ids of the clinics where the person supervises or administers."""
    return list(
        active_memberships(user)
        .filter(role__in=(Role.SUPERVISOR, Role.ADMIN))
        .values_list("organization_id", flat=True)
    )


def supervision_rows(organizations: list[Any], *, now: datetime) -> list[dict[str, Any]]:
    """Per supporter: caseload size, open alerts, median reply time, minutes of support per
    patient per week over the last four weeks.

    A fixed number of queries whatever the number of supporters: the supporters, then one
    query per figure for all of them at once.
    """
    since = now - timedelta(weeks=WEEKS)
    staff = list(
        User.objects.filter(
            memberships__organization_id__in=organizations,
            memberships__role__in=CLINICAL_ROLES,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("full_name")
    )
    ids = [supporter.pk for supporter in staff]
    supporting = CareTeamMember.objects.filter(
        supporter_id__in=ids,
        active=True,
        enrollment__status=EnrollmentStatus.ACTIVE,
        enrollment__organization_id__in=organizations,
    ).order_by()
    sizes = _by_supporter(supporting.values("supporter_id").annotate(n=Count("pk")))
    open_alerts = _by_supporter(
        supporting.values("supporter_id").annotate(
            n=Count(
                "enrollment__alerts",
                filter=Q(enrollment__alerts__state=AlertState.OPEN),
                distinct=True,
            )
        )
    )
    message_minutes = _by_supporter(
        Message.objects.filter(
            sender_id__in=ids,
            from_patient=False,
            sent_at__gte=since,
            thread__enrollment__organization_id__in=organizations,
        )
        .order_by()
        .values(supporter_id=F("sender_id"))
        .annotate(n=Sum("support_minutes"))
    )
    session_minutes = _by_supporter(
        Appointment.objects.filter(
            supporter_id__in=ids,
            starts_at__gte=since,
            starts_at__lte=now,
            enrollment__organization_id__in=organizations,
        )
        .order_by()
        .values("supporter_id")
        .annotate(n=Sum("support_minutes"))
    )
    reply_times = reply_times_by_supporter(ids, since)
    rows = []
    for supporter in staff:
        size = sizes.get(supporter.pk, 0)
        minutes = message_minutes.get(supporter.pk, 0) + session_minutes.get(supporter.pk, 0)
        median = median_seconds(reply_times[supporter.pk])
        rows.append(
            {
                "supporter": supporter,
                "caseload": size,
                "open_alerts": open_alerts.get(supporter.pk, 0),
                "median_reply_hours": None if median is None else round(median / 3600, 1),
                "minutes_per_patient_week": round(minutes / size / WEEKS, 1) if size else None,
            }
        )
    return rows


def _by_supporter(rows: QuerySet[Any, Any]) -> dict[Any, int]:
    return {row["supporter_id"]: row["n"] or 0 for row in rows}


def enrollments_to_reassign(organizations: list[Any]) -> QuerySet[Enrollment]:
    """The clinics' active patients, by name, for the supervisor's reassigning list, each
    with `current_supporter_id`, the primary supporter it has now (None if it has none)."""
    return (
        Enrollment.objects.filter(organization_id__in=organizations, status=EnrollmentStatus.ACTIVE)
        .annotate(current_supporter_id=Subquery(_primary_supporter_id(), output_field=UUIDField()))
        .select_related("patient", "program_version")
        .order_by("patient__full_name", "program_version__title")[:REASSIGN_LIMIT]
    )


def _primary_supporter_id() -> QuerySet[CareTeamMember, Any]:
    """The first active supporter of the enrollment in the outer query, primary first."""
    return (
        CareTeamMember.objects.filter(enrollment=OuterRef("pk"), active=True)
        .order_by("role", "created_at")
        .values("supporter_id")[:1]
    )


def current_supporter_id(enrollment: Enrollment) -> Any:
    """The id of the enrollment's primary supporter now (None if it has none)."""
    return (
        CareTeamMember.objects.filter(enrollment=enrollment, active=True)
        .order_by("role", "created_at")
        .values_list("supporter_id", flat=True)
        .first()
    )


def clinical_staff(organizations: list[Any]) -> QuerySet[Membership]:
    """The clinics' active coaches, therapists and supervisors, by name."""
    return (
        Membership.objects.filter(
            organization_id__in=organizations, role__in=CLINICAL_ROLES, is_active=True
        )
        .select_related("user")
        .order_by("user__full_name")
    )


def new_supporter(enrollment: Enrollment, supporter_id: str) -> User | None:
    """The person chosen to take a patient on, if they are clinical staff of the patient's
    clinic (None for anyone else, or for an id that is not one)."""
    try:
        uuid.UUID(supporter_id)
    except ValueError:
        return None
    return (
        User.objects.filter(
            pk__in=clinical_staff([enrollment.organization_id]).values("user_id"),
        )
        .filter(pk=supporter_id)
        .first()
    )
