"""Reads about alerts and on-call duty, scoped to who asks.

Who may open an alert: the person it is assigned or escalated to, and anyone who may
open the patient's enrollment (their supporters and team, the clinic's supervisors).
Clinic admins see no clinical record, so they see an alert only when it was handed to
them because the clinic had no clinician or supervisor to take it. Researchers and
patients never see alerts. An alert outside a person's reach is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from trellis.accounts.models import CLINICAL_ROLES, Membership, Organization, Role, Team, User
from trellis.accounts.queries import active_memberships, get_or_404, holds_role, is_signed_in
from trellis.alerts.models import Alert, AlertState, Severity
from trellis.audit.models import AuditEvent
from trellis.care.models import CareTeamMember
from trellis.care.queries import enrollments_for

# Roles that see the alert pages: clinical staff, and admins (who can be handed an alert
# when nobody clinical is configured, and who set up on-call duty).
ALERT_ROLES = frozenset(CLINICAL_ROLES | {Role.ADMIN})
# Who may be on call for a team: people who can act on a safety alert clinically.
ON_CALL_ROLES = frozenset({Role.THERAPIST, Role.SUPERVISOR})
# Who may choose a team's on-call clinician.
ON_CALL_MANAGER_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})

SEVERITY_ORDER = Case(
    When(severity=Severity.URGENT, then=Value(0)),
    When(severity=Severity.HIGH, then=Value(1)),
    When(severity=Severity.MEDIUM, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def uses_alerts(user: Any) -> bool:
    """Holds a role that works with alerts somewhere."""
    return active_memberships(user).filter(role__in=ALERT_ROLES).exists()


def alerts_for(user: Any) -> QuerySet[Alert]:
    """Every alert the person may open."""
    if not is_signed_in(user):
        return Alert.objects.none()

    orgs = active_memberships(user).filter(role__in=ALERT_ROLES).values("organization_id")
    clinical_orgs = (
        active_memberships(user).filter(role__in=CLINICAL_ROLES).values("organization_id")
    )
    return Alert.objects.filter(organization_id__in=orgs).filter(
        Q(assigned_to=user)
        | Q(escalated_to=user)
        | Q(
            organization_id__in=clinical_orgs,
            enrollment_id__in=enrollments_for(user).values("pk"),
        )
    )


def access_alert(user: Any, pk: Any) -> Alert:
    """One alert in reach, or 404."""
    alert: Alert = get_or_404(
        alerts_for(user).select_related(
            "organization",
            "enrollment__patient",
            "assigned_to",
            "escalated_to",
            "acknowledged_by",
            "closed_by",
        ),
        pk,
    )
    return alert


def access_alert_any(pk: Any) -> Alert:
    """One alert with what a listing shows, after the caller's access was checked."""
    return Alert.objects.select_related("enrollment__patient", "assigned_to").get(pk=pk)


def inbox_for(user: Any) -> QuerySet[Alert]:
    """Open alerts that are the person's to act on: assigned or escalated to them,
    most urgent first, then oldest first."""
    if not is_signed_in(user):
        return Alert.objects.none()
    return (
        alerts_for(user)
        .filter(state=AlertState.OPEN)
        .filter(Q(assigned_to=user) | Q(escalated_to=user))
        .select_related("organization", "enrollment__patient", "assigned_to", "escalated_to")
        .order_by(SEVERITY_ORDER, "raised_at")
    )


def clinic_open_safety_alerts(user: Any) -> QuerySet[Alert]:
    """For supervisors: every open safety alert of their clinic(s) that is someone else's."""
    if not is_signed_in(user):
        return Alert.objects.none()
    supervised = active_memberships(user).filter(role=Role.SUPERVISOR).values("organization_id")
    return (
        Alert.objects.filter(organization_id__in=supervised, state=AlertState.OPEN, kind="safety")
        .exclude(Q(assigned_to=user) | Q(escalated_to=user))
        .select_related("organization", "enrollment__patient", "assigned_to", "escalated_to")
        .order_by("raised_at")
    )


def may_acknowledge(user: Any, alert: Alert) -> bool:
    """The assigned clinician, the supervisor it was escalated to, or any supervisor of the
    clinic, while they still hold a role there."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_supervisor(user, alert.organization_id):
        return True
    if user.pk not in {alert.assigned_to_id, alert.escalated_to_id}:
        return False
    return active_member(user, alert.organization_id, ALERT_ROLES)


def may_handle(user: Any, alert: Alert) -> bool:
    """Whether the person may acknowledge, resolve or dismiss an alert they can open.

    Safety alerts keep their stricter rule (the assigned clinician, the supervisor it was
    escalated to, or a supervisor: `may_acknowledge`). Other alerts: anyone with a
    clinical role at the clinic who may open the alert (the patient's supporters and team,
    the supervisors), and whoever it was handed to.
    """
    if alert.kind == "safety":
        return may_acknowledge(user, alert)
    if not is_signed_in(user) or not user.is_active:
        return False
    if not alerts_for(user).filter(pk=alert.pk).exists():
        return False
    if user.pk in {alert.assigned_to_id, alert.escalated_to_id}:
        return active_member(user, alert.organization_id, ALERT_ROLES)
    return active_member(user, alert.organization_id, frozenset(CLINICAL_ROLES))


@dataclass(frozen=True)
class AlertFilters:
    """What the inbox shows: blank means any."""

    kind: str = ""
    severity: str = ""
    state: str = AlertState.OPEN
    supporter: Any = None


def filtered_alerts(user: Any, filters: AlertFilters) -> QuerySet[Alert]:
    """Alerts in the person's reach that match the filters, most urgent first, then oldest.
    "live" as a state means open or acknowledged."""
    alerts = alerts_for(user)
    if filters.kind:
        alerts = alerts.filter(kind=filters.kind)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    if filters.state == "live":
        alerts = alerts.filter(state__in=(AlertState.OPEN, AlertState.ACKNOWLEDGED))
    elif filters.state:
        alerts = alerts.filter(state=filters.state)
    if filters.supporter is not None:
        alerts = alerts.filter(
            enrollment_id__in=CareTeamMember.objects.filter(
                supporter=filters.supporter, active=True
            ).values("enrollment_id")
        )
    return alerts.select_related(
        "organization", "enrollment__patient", "assigned_to", "escalated_to"
    ).order_by(SEVERITY_ORDER, "raised_at")


def supporters_to_filter_by(user: Any) -> QuerySet[User]:
    """For supervisors: the coaches and therapists of their clinic(s), to filter alerts by
    caseload. Empty for everyone else."""
    if not is_signed_in(user):
        return User.objects.none()
    supervised = active_memberships(user).filter(role=Role.SUPERVISOR).values("organization_id")
    return (
        User.objects.filter(
            memberships__organization_id__in=supervised,
            memberships__role__in=(Role.COACH, Role.THERAPIST),
            memberships__is_active=True,
        )
        .distinct()
        .order_by("full_name")
    )


def supporter_to_filter_by(user: Any, pk: Any) -> User | None:
    """One of `supporters_to_filter_by`, by id (None if not one of them)."""
    return supporters_to_filter_by(user).filter(pk=pk).first()


def alert_history(alert: Alert) -> QuerySet[AuditEvent]:
    """What happened to an alert, oldest first: its rows of the audit trail."""
    return AuditEvent.objects.filter(
        object_type=Alert._meta.label_lower, object_id=str(alert.pk)
    ).order_by("id")


def open_urgent_count(user: Any) -> int:
    """How many urgent alerts are waiting for this person (the number by "Alerts")."""
    return inbox_for(user).filter(severity=Severity.URGENT).count()


def active_member(user: User | None, organization: Any, roles: frozenset[str]) -> bool:
    """Whether `user` is an active person holding one of `roles` at the clinic now."""
    return user is not None and user.is_active and holds_role(user, organization, roles)


def is_supervisor(user: Any, organization: Any) -> bool:
    return is_signed_in(user) and active_member(user, organization, frozenset({Role.SUPERVISOR}))


def supervisors_of(organization: Any, *, team: Team | None = None) -> list[User]:
    """Active supervisors of a clinic, the given team's own supervisors first."""
    org_id = getattr(organization, "pk", organization)
    memberships = Membership.objects.filter(
        organization_id=org_id, role=Role.SUPERVISOR, is_active=True, user__is_active=True
    ).select_related("user")
    team_id = team.pk if team is not None else None
    ordered = sorted(
        memberships, key=lambda m: (m.team_id != team_id or team_id is None, m.created_at)
    )
    return [m.user for m in ordered]


def admins_of(organization: Any) -> list[User]:
    org_id = getattr(organization, "pk", organization)
    return [
        m.user
        for m in Membership.objects.filter(
            organization_id=org_id, role=Role.ADMIN, is_active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("created_at")
    ]


def patient_team(patient: Any, organization: Any) -> Team | None:
    """The team a patient belongs to at a clinic (Membership.team), if any."""
    org_id = getattr(organization, "pk", organization)
    membership = (
        Membership.objects.filter(
            user=patient, organization_id=org_id, role=Role.PATIENT, is_active=True
        )
        .select_related("team__on_call_clinician")
        .first()
    )
    return membership.team if membership is not None else None


def on_call_of(team: Team | None) -> User | None:
    """The team's on-call clinician, if one is set and still a therapist or supervisor of
    the clinic (someone who has left or changed role cannot take safety alerts)."""
    if team is None or team.on_call_clinician is None:
        return None
    clinician = team.on_call_clinician
    if not active_member(clinician, team.organization_id, ON_CALL_ROLES):
        return None
    return clinician


def on_call_candidates(team: Team) -> QuerySet[User]:
    """People who may be chosen as a team's on-call clinician."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__organization_id=team.organization_id,
            memberships__role__in=ON_CALL_ROLES,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("full_name")
    )


def on_call_orgs_for(user: Any) -> QuerySet[Organization]:
    """Clinics where the person may choose on-call clinicians."""
    if not is_signed_in(user):
        return Organization.objects.none()
    org_ids = (
        active_memberships(user).filter(role__in=ON_CALL_MANAGER_ROLES).values("organization_id")
    )
    return Organization.objects.filter(pk__in=org_ids)


def on_call_teams_for(user: Any) -> QuerySet[Team]:
    """Teams whose on-call clinician the person may change, by clinic and name."""
    return (
        Team.objects.filter(organization__in=on_call_orgs_for(user))
        .select_related("organization", "on_call_clinician")
        .order_by("organization__name", "name")
    )


def access_on_call_team(user: Any, pk: Any) -> Team:
    """A team whose on-call clinician the person may change, or 404."""
    team: Team = get_or_404(on_call_teams_for(user), pk)
    return team


@dataclass(frozen=True)
class SetupGap:
    """A gap in a clinic's safety set-up, in words for the clinic and for `trellis check`."""

    organization: Organization
    team: Team | None
    message: str


def safety_setup_gaps(organizations: QuerySet[Organization] | None = None) -> list[SetupGap]:
    """Teams with no usable on-call clinician, and clinics with no supervisor to escalate to."""
    orgs = Organization.objects.all() if organizations is None else organizations
    gaps: list[SetupGap] = []
    for org in orgs.order_by("name"):
        for team in Team.objects.filter(organization=org).select_related("on_call_clinician"):
            if on_call_of(team) is None:
                gaps.append(
                    SetupGap(
                        org,
                        team,
                        _("%(clinic)s, %(team)s: no on-call clinician for safety alerts")
                        % {"clinic": org.name, "team": team.name},
                    )
                )
        if not supervisors_of(org):
            gaps.append(
                SetupGap(
                    org,
                    None,
                    _("%(clinic)s: no active supervisor to escalate safety alerts to")
                    % {"clinic": org.name},
                )
            )
    return gaps
