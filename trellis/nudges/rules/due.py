"""Which enrollments reach a decision point of a rule now: one query per rule, whatever
the number of patients (see the package's docstring for each kind)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TimeField,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least, NullIf

from trellis.accounts.models import Organization
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.core import timeutil
from trellis.engagement.models import PATIENT_INITIATED, EngagementEvent, EventType
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.measures.models import AssignmentStatus, QuestionnaireAssignment
from trellis.messaging.models import Message
from trellis.nudges.models import (
    DecisionPoint,
    ReminderRule,
    RuleKind,
)
from trellis.programs.models import Step

MESSAGE_WAITING_AFTER = timedelta(hours=2)
SUMMARY_WEEKDAY = 6  # Sunday (date.weekday())
# Kinds whose decisions are made here; the appointment texts have their own module.
DECIDED_HERE = (
    RuleKind.EXERCISE_TODAY,
    RuleKind.QUESTIONNAIRE_DUE,
    RuleKind.QUESTIONNAIRE_OVERDUE,
    RuleKind.INACTIVITY,
    RuleKind.MESSAGE_WAITING,
    RuleKind.WEEKLY_SUMMARY,
)


# Which rule holds for which enrollment ----------------------------------------------


def rules_in_force(
    *, organization: Organization | None = None, kinds: Iterable[str] = DECIDED_HERE
) -> list[tuple[ReminderRule, list[str]]]:
    """Every enabled rule of these kinds, each with the program keys it must leave out
    (a clinic-wide rule steps aside where a program has a rule of its own). One query."""
    rows = ReminderRule.objects.filter(kind__in=list(kinds)).select_related("organization")
    if organization is not None:
        rows = rows.filter(organization=organization)
    everything = list(rows)
    overridden: dict[tuple[Any, str], list[str]] = defaultdict(list)
    for rule in everything:
        if rule.program_key:
            overridden[(rule.organization_id, rule.kind)].append(rule.program_key)
    return [
        (rule, [] if rule.program_key else sorted(overridden[(rule.organization_id, rule.kind)]))
        for rule in everything
        if rule.enabled
    ]


# What is due ------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """One enrollment reaching a decision point of one rule in one period."""

    rule: ReminderRule
    enrollment_id: UUID
    recipient_id: UUID
    period: str
    zone: str
    send_from: datetime  # the moment it became due (UTC); a nudge waits for it
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Local:
    """What the clock reads in one time zone at `now`."""

    zone: str
    day: date
    clock: time


def local_clocks(zones: Iterable[str], now: datetime) -> list[Local]:
    """The local date and time in each named zone (unknown names are left out: such a
    patient is reached in the clinic's zone only once their setting is repaired)."""
    found = []
    for name in sorted(set(zones)):
        if not name or not timeutil.is_valid_zone(name):
            continue
        local = now.astimezone(timeutil.zone(name))
        found.append(Local(name, local.date(), local.time().replace(tzinfo=None)))
    return found


def _patient_zone() -> Coalesce:
    return Coalesce(
        NullIf(F("patient__preferences__time_zone"), Value("")),
        F("organization__time_zone"),
        output_field=CharField(),
    )


def zones_in_use(
    *, organization: Organization | None = None, enrollment_ids: Iterable[Any] | None = None
) -> list[str]:
    """The time zones of active patients (one query)."""
    rows = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
    if organization is not None:
        rows = rows.filter(organization=organization)
    if enrollment_ids is not None:
        rows = rows.filter(pk__in=list(enrollment_ids))
    return sorted(set(rows.annotate(zone=_patient_zone()).values_list("zone", flat=True)))


def _moment(rule: ReminderRule, *, patient_time: bool) -> Any:
    """The rule's time of day for each patient, as an SQL expression, kept in the window."""
    fixed = Value(rule.send_at or rule.window_from, output_field=TimeField())
    chosen = (
        Coalesce(F("patient__preferences__reminder_time"), fixed, output_field=TimeField())
        if patient_time
        else fixed
    )
    return Least(
        Greatest(chosen, Value(rule.window_from, output_field=TimeField())),
        Value(rule.window_until, output_field=TimeField()),
        output_field=TimeField(),
    )


def _base(
    rule: ReminderRule, overridden: list[str], enrollment_ids: Iterable[Any] | None
) -> QuerySet[Enrollment]:
    rows = Enrollment.objects.filter(
        organization_id=rule.organization_id, status=EnrollmentStatus.ACTIVE
    )
    if rule.program_key:
        rows = rows.filter(program_version__program__slug=rule.program_key)
    elif overridden:
        rows = rows.exclude(program_version__program__slug__in=overridden)
    if enrollment_ids is not None:
        rows = rows.filter(pk__in=list(enrollment_ids))
    return rows.annotate(zone=_patient_zone())


def _decided(rule: ReminderRule, **match: Any) -> Exists:
    return Exists(DecisionPoint.objects.filter(rule=rule, enrollment=OuterRef("pk"), **match))


def _episode_period(prefix: str, since: datetime, day: date) -> str:
    """The claim of one day's decision within an episode (a questionnaire falling due, a
    spell of inactivity, a message waiting), e.g. `idle:20260302T140000Z/2026-03-06`."""
    return f"{prefix}:{since.astimezone(timeutil.UTC):%Y%m%dT%H%M%SZ}/{day.isoformat()}"


def _episode_zones(rule: ReminderRule, clocks: list[Local], *, moment_based: bool) -> Q:
    """Per time zone: the rule's moment has come (or, without a moment, its window is
    open) and no decision of this rule was made for the patient today (their local day)."""
    zone_q = Q(pk__in=[])
    for local in clocks:
        if not _window_open(rule, local):
            continue
        here = Q(zone=local.zone, moment__lte=local.clock) if moment_based else Q(zone=local.zone)
        zone_q |= here & ~Q(_decided(rule, decided_at__gte=_since_local_midnight(local)))
    return zone_q


def _episode_decided(rule: ReminderRule) -> Exists:
    """A decision of this rule found the patient available since the episode began: the
    episode has had its nudge (sent or held back by a trial). An unavailable decision (a
    cap, quiet hours) leaves the episode open for the next day."""
    return _decided(rule, available=True, decided_at__gte=OuterRef("since"))


def due(
    rule: ReminderRule,
    now: datetime,
    *,
    zones: Iterable[str],
    overridden: list[str] | None = None,
    enrollment_ids: Iterable[Any] | None = None,
    claimed: set[tuple[Any, Any, str]] | None = None,
) -> list[Due]:
    """The enrollments reaching a decision point of `rule` at `now` that have not had one
    for that period yet. One query (two for the exercise rule's zones), independent of
    the number of enrollments. `claimed` leaves out (rule, enrollment, period) claims made
    in memory (the dry run of `trellis nudges preview`)."""
    timeutil.ensure_aware(now)
    clocks = local_clocks(zones, now)
    finder = _FINDERS.get(rule.kind)
    if finder is None or not clocks:
        return []
    rows = finder(rule, _base(rule, overridden or [], enrollment_ids), now, clocks)
    if claimed:
        rows = [d for d in rows if (rule.pk, d.enrollment_id, d.period) not in claimed]
    return rows


def _in_zone_at_moment(local: Local, *, exclude_period: str | None, rule: ReminderRule) -> Q:
    """Patients of this zone whose moment today has come and whose window is still open."""
    q = Q(zone=local.zone, moment__lte=local.clock)
    if exclude_period is not None:
        q &= ~Q(_decided(rule, period=exclude_period))
    return q


def _window_open(rule: ReminderRule, local: Local) -> bool:
    return rule.window_from <= local.clock <= rule.window_until


def _since_local_midnight(local: Local) -> datetime:
    return timeutil.at_local_time(local.day, time(0), local.zone)


def send_from(local: Local, moment: time) -> datetime:
    return timeutil.at_local_time(local.day, moment, local.zone).astimezone(timeutil.UTC)


def _exercise_today(
    rule: ReminderRule, rows: QuerySet[Enrollment], now: datetime, clocks: list[Local]
) -> list[Due]:
    to_do = Step.objects.filter(version=OuterRef("program_version_id")).exclude(
        Exists(
            StepProgress.objects.filter(
                enrollment=OuterRef(OuterRef("pk")),
                step=OuterRef("pk"),
                status=ProgressStatus.COMPLETED,
            )
        )
    )
    last_done = Subquery(
        StepProgress.objects.filter(enrollment=OuterRef("pk"), completed_at__isnull=False)
        .order_by("-completed_at")
        .values("completed_at")[:1]
    )
    zone_q = Q(pk__in=[])
    for local in clocks:
        if not _window_open(rule, local):
            continue
        midnight = _since_local_midnight(local)
        zone_q |= _in_zone_at_moment(local, exclude_period=local.day.isoformat(), rule=rule) & (
            Q(last_done__isnull=True) | Q(last_done__lt=midnight)
        )
    found = (
        rows.annotate(moment=_moment(rule, patient_time=True), last_done=last_done)
        .filter(Exists(to_do))
        .filter(zone_q)
        .values_list("pk", "patient_id", "zone", "moment")
    )
    by_zone = {local.zone: local for local in clocks}
    return [
        Due(
            rule,
            pk,
            patient,
            by_zone[zone].day.isoformat(),
            zone,
            send_from(by_zone[zone], moment),
        )
        for pk, patient, zone, moment in found
    ]


def _questionnaire(
    rule: ReminderRule,
    rows: QuerySet[Enrollment],
    now: datetime,
    clocks: list[Local],
    *,
    overdue: bool,
) -> list[Due]:
    if overdue:
        # Past `overdue_after` and not answered, whether or not the measures clock has
        # marked it overdue yet (so the preview sees what lies ahead too).
        open_ones = QuestionnaireAssignment.objects.filter(
            enrollment=OuterRef("pk"),
            status__in=(AssignmentStatus.PENDING, AssignmentStatus.OVERDUE),
            overdue_after__lte=now,
            closes_at__gt=now,
        )
        start = "overdue_after"
    else:
        open_ones = QuestionnaireAssignment.objects.filter(
            enrollment=OuterRef("pk"),
            status=AssignmentStatus.PENDING,
            due_from__lte=now,
            overdue_after__gt=now,
            closes_at__gt=now,
        )
        start = "due_from"
    since = Subquery(open_ones.order_by(start).values(start)[:1])
    count = Subquery(
        open_ones.order_by().values("enrollment").annotate(n=Count("pk")).values("n")[:1]
    )
    found = (
        rows.annotate(moment=_moment(rule, patient_time=False), since=since, waiting=count)
        .filter(since__isnull=False)
        .filter(_episode_zones(rule, clocks, moment_based=True))
        .exclude(_episode_decided(rule))
        .values_list("pk", "patient_id", "zone", "moment", "since", "waiting")
    )
    by_zone = {local.zone: local for local in clocks}
    prefix = "qover" if overdue else "qdue"
    return [
        Due(
            rule,
            pk,
            patient,
            _episode_period(prefix, since_at, by_zone[zone].day),
            zone,
            max(send_from(by_zone[zone], moment), since_at),
            {"questionnaires": waiting},
        )
        for pk, patient, zone, moment, since_at, waiting in found
    ]


def _questionnaire_due(
    rule: ReminderRule, rows: QuerySet[Enrollment], now: datetime, clocks: list[Local]
) -> list[Due]:
    return _questionnaire(rule, rows, now, clocks, overdue=False)


def _questionnaire_overdue(
    rule: ReminderRule, rows: QuerySet[Enrollment], now: datetime, clocks: list[Local]
) -> list[Due]:
    return _questionnaire(rule, rows, now, clocks, overdue=True)


def _inactivity(
    rule: ReminderRule, rows: QuerySet[Enrollment], now: datetime, clocks: list[Local]
) -> list[Due]:
    days = rule.inactivity_days or 0
    if days < 1:
        return []
    last_event = Subquery(
        EngagementEvent.objects.filter(
            enrollment=OuterRef("pk"), type__in=sorted(PATIENT_INITIATED)
        )
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    found = (
        rows.annotate(
            moment=_moment(rule, patient_time=False),
            since=Coalesce(last_event, F("started_at")),
        )
        .filter(since__lte=now - timedelta(days=days))
        .filter(_episode_zones(rule, clocks, moment_based=True))
        .exclude(_episode_decided(rule))
        .values_list("pk", "patient_id", "zone", "moment", "since")
    )
    by_zone = {local.zone: local for local in clocks}
    return [
        Due(
            rule,
            pk,
            patient,
            _episode_period("idle", last, by_zone[zone].day),
            zone,
            send_from(by_zone[zone], moment),
            {"days": days},
        )
        for pk, patient, zone, moment, last in found
    ]


def _message_waiting(
    rule: ReminderRule, rows: QuerySet[Enrollment], now: datetime, clocks: list[Local]
) -> list[Due]:
    oldest = Subquery(
        Message.objects.filter(
            thread__enrollment=OuterRef("pk"), from_patient=False, read_at__isnull=True
        )
        .order_by("sent_at")
        .values("sent_at")[:1]
    )
    found = (
        rows.annotate(since=oldest)
        .filter(since__lte=now - MESSAGE_WAITING_AFTER)
        .filter(_episode_zones(rule, clocks, moment_based=False))
        .exclude(_episode_decided(rule))
        .values_list("pk", "patient_id", "zone", "since")
    )
    by_zone = {local.zone: local for local in clocks}
    return [
        Due(rule, pk, patient, _episode_period("msg", since, by_zone[zone].day), zone, now)
        for pk, patient, zone, since in found
    ]


def _weekly_summary(
    rule: ReminderRule, rows: QuerySet[Enrollment], now: datetime, clocks: list[Local]
) -> list[Due]:
    zone_q = Q(pk__in=[])
    periods = {}
    for local in clocks:
        if local.day.weekday() != SUMMARY_WEEKDAY or not _window_open(rule, local):
            continue
        year, week, _day = local.day.isocalendar()
        periods[local.zone] = f"{year}-W{week:02d}"
        zone_q |= _in_zone_at_moment(local, exclude_period=periods[local.zone], rule=rule)
    if not periods:
        return []
    steps = Subquery(
        EngagementEvent.objects.filter(
            enrollment=OuterRef("pk"),
            type=EventType.STEP_COMPLETED,
            occurred_at__gt=now - timedelta(days=7),
            occurred_at__lte=now,
        )
        .order_by()
        .values("enrollment")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    found = (
        rows.filter(patient__preferences__weekly_summary=True)
        .annotate(moment=_moment(rule, patient_time=True), steps=Coalesce(steps, 0))
        .filter(zone_q)
        .values_list("pk", "patient_id", "zone", "moment", "steps")
    )
    by_zone = {local.zone: local for local in clocks}
    return [
        Due(
            rule,
            pk,
            patient,
            periods[zone],
            zone,
            send_from(by_zone[zone], moment),
            {"steps_completed": steps_done},
        )
        for pk, patient, zone, moment, steps_done in found
    ]


Finder = Callable[[ReminderRule, QuerySet[Enrollment], datetime, list[Local]], list[Due]]

_FINDERS: dict[str, Finder] = {
    RuleKind.EXERCISE_TODAY: _exercise_today,
    RuleKind.QUESTIONNAIRE_DUE: _questionnaire_due,
    RuleKind.QUESTIONNAIRE_OVERDUE: _questionnaire_overdue,
    RuleKind.INACTIVITY: _inactivity,
    RuleKind.MESSAGE_WAITING: _message_waiting,
    RuleKind.WEEKLY_SUMMARY: _weekly_summary,
}
