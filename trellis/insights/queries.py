"""Reads of insights that depend on who asks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trellis.accounts.models import CLINICAL_ROLES, Membership, Organization, Role
from trellis.accounts.queries import active_memberships
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.care.models import (
    CareTeamMember,
    Enrollment,
    EnrollmentStatus,
    SupporterRole,
    SupportLevel,
)
from trellis.core import timeutil
from trellis.engagement.models import PATIENT_INITIATED, EngagementEvent, EventType
from trellis.insights.models import RiskScore
from trellis.insights.reports import catalog, privacy
from trellis.insights.reports import engagement as report_engagement
from trellis.insights.reports import outcomes as report_outcomes
from trellis.insights.reports import phenotypes as report_phenotypes
from trellis.insights.reports import retention as report_retention
from trellis.insights.reports import workload as report_workload
from trellis.insights.reports.catalog import Report
from trellis.insights.reports.cohort import Cohort, EnrollmentRow, EventRow, active_days
from trellis.insights.reports.cohort import build as build_cohort
from trellis.insights.reports.tables import Table
from trellis.insights.reports.workload import SupporterWork
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.outcomes import GAD7, PHQ9, Outcome
from trellis.messaging.models import Message
from trellis.messaging.queries import reply_times_by_supporter
from trellis.programs.models import Step

# Who may read a clinic's dropout-risk model page: its clinicians and its administrators.
MODEL_READERS = frozenset({*CLINICAL_ROLES, Role.ADMIN})


def clinics_for_model_page(user: Any) -> QuerySet[Organization]:
    """The clinics whose model page this person may read."""
    ids = active_memberships(user).filter(role__in=MODEL_READERS).values("organization_id")
    return Organization.objects.filter(pk__in=ids).order_by("name")


def latest_score(enrollment_id: Any) -> RiskScore | None:
    """The newest score of one enrollment (the caller has checked the enrollment is in
    reach)."""
    return (
        RiskScore.objects.filter(enrollment_id=enrollment_id)
        .select_related("model")
        .order_by("-scored_at")
        .first()
    )


# The clinic's reports (docs/insights-reports.md) -------------------------------------

# Who may read a clinic's reports: its admins and supervisors in full, its researchers as
# de-identified aggregates (supporters unnamed, counts below 5 suppressed).
REPORT_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.RESEARCHER})
FULL_REPORT_READERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
READERS_ONLY = gettext_lazy("Reports are for a clinic's admins, supervisors and researchers.")
# The period the workload report covers when none is asked for.
WORKLOAD_DAYS = 28


@dataclass(frozen=True)
class ReportAccess:
    """A clinic whose reports the person may read, and whether they see them de-identified."""

    clinic: Organization
    deidentified: bool


def report_clinics(user: Any) -> QuerySet[Organization]:
    """The clinics whose reports this person may read."""
    ids = active_memberships(user).filter(role__in=REPORT_READERS).values("organization_id")
    return Organization.objects.filter(pk__in=ids).order_by("name")


def access_report_clinic(user: Any, slug: str) -> ReportAccess:
    """The clinic of `slug` if the person may read its reports; 404 otherwise (a clinic
    where they hold no such role looks like one that does not exist)."""
    clinic = report_clinics(user).filter(slug=slug).first()
    if clinic is None:
        raise Http404(_("No clinic with reports you may read has this address."))
    roles = set(active_memberships(user).filter(organization=clinic).values_list("role", flat=True))
    return ReportAccess(clinic=clinic, deidentified=not (roles & FULL_REPORT_READERS))


def period_start(clinic: Organization, since: date | None) -> datetime | None:
    """Midnight at the clinic at the start of `since`."""
    if since is None:
        return None
    return timeutil.at_local_time(since, time(0, 0), clinic.time_zone)


def _enrollments(clinic: Organization, start: datetime | None) -> QuerySet[Enrollment]:
    found = Enrollment.objects.filter(organization=clinic)
    return found.filter(started_at__gte=start) if start is not None else found


def _primary_supporters(enrollments: QuerySet[Enrollment]) -> dict[Any, Any]:
    """Each enrollment's primary supporter: the active one first, then the earliest."""
    found: dict[Any, Any] = {}
    rows = (
        CareTeamMember.objects.filter(enrollment__in=enrollments, role=SupporterRole.PRIMARY)
        .order_by("enrollment_id", "-active", "created_at")
        .values_list("enrollment_id", "supporter_id")
    )
    for enrollment_id, supporter_id in rows:
        found.setdefault(enrollment_id, supporter_id)
    return found


def cohort(clinic: Organization, start: datetime | None) -> Cohort:
    """The clinic's enrollments (started from `start`) and their patient-initiated events."""
    enrollments = _enrollments(clinic, start)
    rows = list(
        enrollments.order_by("started_at", "pk").values(
            "pk",
            "program_version_id",
            "program_version__program__title",
            "program_version__intended_use",
            "support_level",
            "status",
            "started_at",
            "ended_at",
            "onboarding__pk",
            "onboarding__completed_at",
        )
    )
    versions = {row["program_version_id"] for row in rows}
    steps = dict(
        Step.objects.filter(version_id__in=versions)
        .values("version_id")
        .annotate(n=Count("pk"))
        .values_list("version_id", "n")
    )
    supporters = _primary_supporters(enrollments)
    built = []
    for row in rows:
        intended = row["program_version__intended_use"] or {}
        pace, weeks = intended.get("exercises_per_week"), intended.get("weeks")
        built.append(
            EnrollmentRow(
                id=row["pk"],
                program=row["program_version__program__title"],
                support_level=str(SupportLevel(row["support_level"]).label),
                supporter_id=supporters.get(row["pk"]),
                status=row["status"],
                started_at=row["started_at"],
                ended_at=row["ended_at"],
                # Enrolled without the getting-started steps (brought from elsewhere):
                # counted as started when the enrollment began.
                got_started_at=row["onboarding__completed_at"]
                if row["onboarding__pk"] is not None
                else row["started_at"],
                steps_in_program=steps.get(row["program_version_id"], 0),
                steps_per_week=pace if isinstance(pace, int) and pace > 0 else None,
                weeks=weeks if isinstance(weeks, int) and weeks > 0 else None,
            )
        )
    events = [
        EventRow(enrollment_id, at, kind == EventType.STEP_COMPLETED, duration)
        for enrollment_id, at, kind, duration in EngagementEvent.objects.filter(
            enrollment__in=enrollments, type__in=PATIENT_INITIATED
        )
        .order_by()
        .values_list("enrollment_id", "occurred_at", "type", "duration_s")
        .iterator(chunk_size=5000)
    ]
    return build_cohort(built, events)


def outcomes_of(clinic: Organization, start: datetime | None) -> dict[Any, Outcome]:
    """The outcome of each enrollment with both questionnaires measured at least twice."""
    totals: dict[Any, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    rows = (
        QuestionnaireResponse.objects.filter(
            enrollment__in=_enrollments(clinic, start),
            instrument__in=(PHQ9, GAD7),
            total__isnull=False,
        )
        .order_by("enrollment_id", "submitted_at", "pk")
        .values_list("enrollment_id", "instrument", "total")
    )
    for enrollment_id, code, total in rows.iterator(chunk_size=5000):
        if total is not None:
            totals[enrollment_id][code].append(total)
    found = {}
    for enrollment_id, series in totals.items():
        outcome = report_outcomes.outcome_of(series)
        if outcome is not None:
            found[enrollment_id] = outcome
    return found


def supporters(clinic: Organization) -> list[tuple[Any, str, str, bool]]:
    """The clinic's coaches, therapists and supervisors, in one fixed order (when they
    joined, then id): (user id, name, role label, membership active). The order gives the
    pseudonyms researchers see, the same in every report."""
    rows = (
        Membership.objects.filter(organization=clinic, role__in=CLINICAL_ROLES)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    seen: dict[Any, tuple[Any, str, str, bool]] = {}
    for m in rows:
        if m.user_id not in seen:
            seen[m.user_id] = (
                m.user_id,
                m.user.display_name,
                str(m.get_role_display()),
                m.is_active,
            )
    return list(seen.values())


def supporter_names(clinic: Organization, deidentified: bool) -> dict[Any, str]:
    """Each supporter's name as this reader sees it (a pseudonym for researchers)."""
    people = supporters(clinic)
    if deidentified:
        return privacy.pseudonyms([pk for pk, *_rest in people])
    return {pk: name for pk, name, *_rest in people}


def _workload(clinic: Organization, start: datetime, deidentified: bool) -> list[SupporterWork]:
    people = [p for p in supporters(clinic) if p[3]]
    names = supporter_names(clinic, deidentified)
    ids = [pk for pk, *_rest in people]
    active = dict(
        CareTeamMember.objects.filter(
            active=True,
            supporter_id__in=ids,
            enrollment__organization=clinic,
            enrollment__status=EnrollmentStatus.ACTIVE,
        )
        .values("supporter_id")
        .annotate(n=Count("enrollment_id", distinct=True))
        .values_list("supporter_id", "n")
    )
    messages: dict[Any, tuple[int, int]] = {
        sender: (n, minutes or 0)
        for sender, n, minutes in Message.objects.filter(
            thread__enrollment__organization=clinic,
            from_patient=False,
            sender_id__in=ids,
            sent_at__gte=start,
        )
        .values("sender_id")
        .annotate(n=Count("pk"), minutes=Sum("support_minutes"))
        .values_list("sender_id", "n", "minutes")
    }
    sessions: dict[Any, tuple[int, int]] = {
        supporter: (n, minutes or 0)
        for supporter, n, minutes in Appointment.objects.filter(
            enrollment__organization=clinic,
            supporter_id__in=ids,
            status=AppointmentStatus.ATTENDED,
            starts_at__gte=start,
        )
        .values("supporter_id")
        .annotate(n=Count("pk"), minutes=Sum("support_minutes"))
        .values_list("supporter_id", "n", "minutes")
    }
    waits = reply_times_by_supporter(ids, start)
    return [
        SupporterWork(
            name=names[pk],
            role="" if deidentified else role,
            active_patients=active.get(pk, 0),
            messages_sent=messages.get(pk, (0, 0))[0],
            reply_seconds=waits.get(pk, []),
            sessions_held=sessions.get(pk, (0, 0))[0],
            support_minutes=messages.get(pk, (0, 0))[1] + sessions.get(pk, (0, 0))[1],
        )
        for pk, _name, role, _active in people
    ]


def report(access: ReportAccess, name: str, *, since: date | None, now: datetime) -> Report:
    """One report of the clinic as this reader may see it. `name` must be one of
    catalog.NAMES (the caller checks)."""
    clinic, deidentified = access.clinic, access.deidentified
    start = period_start(clinic, since)
    chart: dict[str, Any] = {}
    notes: list[str] = []
    if name == catalog.ENGAGEMENT:
        table = report_engagement.table(cohort(clinic, start))
    elif name == catalog.RETENTION:
        found = report_retention.curves(cohort(clinic, start), now.timestamp())
        table = report_retention.table(found)
        chart["curves"] = found
    elif name == catalog.OUTCOMES:
        group = cohort(clinic, start)
        names = supporter_names(clinic, deidentified)
        outcomes = outcomes_of(clinic, start)
        no_supporter = _("No supporter")
        table = report_outcomes.table(
            outcomes,
            program={r.id: r.program for r in group.rows},
            support_level={r.id: r.support_level for r in group.rows},
            supporter={
                r.id: names.get(r.supporter_id, no_supporter) if r.supporter_id else no_supporter
                for r in group.rows
            },
        )
    elif name == catalog.WORKLOAD:
        if start is None:
            start = now - timedelta(days=WORKLOAD_DAYS)
            since = timeutil.local_date(start, clinic.time_zone)
        table = report_workload.table(_workload(clinic, start, deidentified))
    else:
        table, chart, notes = _phenotypes(clinic, start, now)
    if deidentified:
        table = privacy.suppress(table)
    return Report(
        name=name,
        table=table,
        deidentified=deidentified,
        period_from=since,
        chart=chart,
        notes=notes,
    )


def _phenotypes(
    clinic: Organization, start: datetime | None, now: datetime
) -> tuple[Table, dict[str, Any], list[str]]:
    group = cohort(clinic, start)
    weeks = report_phenotypes.WEEKS
    # Only enrollments whose first 8 weeks are over have a whole trajectory.
    whole = group.started <= now.timestamp() - weeks * 7 * 86_400
    grid = active_days(group, weeks=weeks)[whole]
    ids = [row.id for row, keep in zip(group.rows, whole, strict=True) if keep]
    found = report_phenotypes.cluster(grid)
    if found is None:
        empty = Table(columns=report_phenotypes.COLUMNS, rows=[])
        note = _(
            "There are too few enrollments whose first 8 weeks are over (%(n)s) to find four "
            "groups."
        ) % {"n": len(ids)}
        return empty, {}, [note]
    table = report_phenotypes.table(found, grid, ids, outcomes_of(clinic, start))
    return table, {"centroids": found.centroids}, []
