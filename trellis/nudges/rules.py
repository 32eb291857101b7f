"""Reminder rules: a clinic's defaults, editing them (audited), and what is due now.

A rule is data (`ReminderRule`): one row per clinic, program and kind. A row with a blank
`program_key` holds for every program of the clinic; a row for one program overrides it
(also when that row is switched off). `ensure_default_rules(org)` gives a clinic the
default set the first time it is needed.

For each kind, `due(rule, now)` answers which active enrollments reach a decision point
now, in a fixed handful of queries however many enrollments there are: the local date and
time of every patient depend only on their time zone, so the query carries one condition
per time zone in use (a clinic has a few), never one query per patient.

When in the day a rule speaks (the patient's zone; Preferences.time_zone, else the clinic's):

- exercise_today: at the patient's reminder time (Preferences.reminder_time, else the rule's
  `send_at`), once a local day, when a step of the program is still to do and none was
  completed that day;
- questionnaire_due / questionnaire_overdue: from the rule's `send_at`, for each time a
  questionnaire falls due (or overdue);
- inactivity: from `send_at`, for each spell of `inactivity_days` days without anything the
  patient did (engagement.PATIENT_INITIATED; the enrollment's start counts as activity);
- message_waiting: inside the rule's window, for each unread message from the care team
  (the oldest), once it has waited `MESSAGE_WAITING_AFTER`;
- weekly_summary: for patients who asked for it, once a week on `SUMMARY_WEEKDAY` at their
  reminder time (else `send_at`);
- supporter_digest: for supporters, daily or weekly (Mondays) at `send_at` in their zone,
  when anything needs them (`digests_due`).

A moment of the day is kept inside the rule's own window (`window_from`..`window_until`):
a reminder time before the window waits for its start, after it comes at its end.

Questionnaires, inactivity and waiting messages are episodes: each is decided at most once
a local day, and once the patient was found available (the nudge sent, or held back by a
trial's draw) the episode has had its decision. A decision that found the patient
unavailable (a cap already reached, quiet hours) leaves the episode open for the next day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
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
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, User
from trellis.alerts.models import Alert, AlertState
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus
from trellis.core import timeutil
from trellis.engagement.models import PATIENT_INITIATED, EngagementEvent, EventType
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.measures.models import AssignmentStatus, QuestionnaireAssignment
from trellis.messaging.models import Message
from trellis.nudges.models import (
    DecisionPoint,
    Delivery,
    DigestFrequency,
    OutreachSettings,
    ReminderRule,
    RuleKind,
)
from trellis.programs.models import Step

MESSAGE_WAITING_AFTER = timedelta(hours=2)
SUMMARY_WEEKDAY = 6  # Sunday (date.weekday()); the weekly digest goes out on Mondays (0)
DIGEST_WEEKDAY = 0
# Kinds whose decisions are made here; the appointment texts have their own module.
DECIDED_HERE = (
    RuleKind.EXERCISE_TODAY,
    RuleKind.QUESTIONNAIRE_DUE,
    RuleKind.QUESTIONNAIRE_OVERDUE,
    RuleKind.INACTIVITY,
    RuleKind.MESSAGE_WAITING,
    RuleKind.WEEKLY_SUMMARY,
)


@dataclass(frozen=True)
class Default:
    kind: str
    send_at: time | None
    window_from: time = time(9, 0)
    window_until: time = time(20, 0)
    inactivity_days: int | None = None
    digest_frequency: str = ""


DEFAULTS: tuple[Default, ...] = (
    Default(RuleKind.EXERCISE_TODAY, time(18, 0)),
    Default(RuleKind.QUESTIONNAIRE_DUE, time(10, 0)),
    Default(RuleKind.QUESTIONNAIRE_OVERDUE, time(10, 0)),
    Default(RuleKind.APPOINTMENT_24H, None, time(8, 0), time(21, 0)),
    Default(RuleKind.APPOINTMENT_1H, None, time(8, 0), time(21, 0)),
    Default(RuleKind.INACTIVITY, time(17, 0), inactivity_days=4),
    Default(RuleKind.MESSAGE_WAITING, None),
    Default(RuleKind.WEEKLY_SUMMARY, time(10, 0)),
    Default(
        RuleKind.SUPPORTER_DIGEST,
        time(8, 0),
        time(8, 0),
        time(18, 0),
        digest_frequency=DigestFrequency.DAILY,
    ),
)


# Defaults and editing ---------------------------------------------------------------


def outreach_settings(organization: Organization) -> OutreachSettings:
    """The clinic's outreach settings (the defaults until someone changes them)."""
    found, _created = OutreachSettings.objects.get_or_create(organization=organization)
    return found


@transaction.atomic
def ensure_default_rules(organization: Organization) -> list[ReminderRule]:
    """Give a clinic the default rule of every kind it does not have yet (for every
    program). Safe to call again: existing rules are left as they are."""
    outreach_settings(organization)
    have = set(
        ReminderRule.objects.filter(organization=organization, program_key="").values_list(
            "kind", flat=True
        )
    )
    made = [
        ReminderRule(
            organization=organization,
            program_key="",
            kind=d.kind,
            send_at=d.send_at,
            window_from=d.window_from,
            window_until=d.window_until,
            inactivity_days=d.inactivity_days,
            digest_frequency=d.digest_frequency,
        )
        for d in DEFAULTS
        if d.kind not in have
    ]
    ReminderRule.objects.bulk_create(made, ignore_conflicts=True)
    return list(ReminderRule.objects.filter(organization=organization))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _span(start: time, end: time) -> set[int]:
    """The minutes of the day from `start` up to `end` (wrapping past midnight)."""
    a, b = _minutes(start), _minutes(end)
    return set(range(a, b)) if a < b else set(range(a, 1440)) | set(range(0, b))


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def check_rule(rule: ReminderRule, settings: OutreachSettings) -> None:
    """Refuse a rule that could never send, or only outside the clinic's allowed hours;
    the message says which hours the rule would use and which the clinic allows."""
    errors: dict[str, list[str]] = defaultdict(list)
    if rule.window_from >= rule.window_until:
        errors["window_until"].append(
            _("The rule's window must end after it starts (on the same day).")
        )
    if rule.kind == RuleKind.INACTIVITY and not rule.inactivity_days:
        errors["inactivity_days"].append(_("Say after how many days without activity."))
    if rule.kind == RuleKind.SUPPORTER_DIGEST:
        if rule.digest_frequency not in DigestFrequency.values:
            errors["digest_frequency"].append(_("Choose daily or weekly."))
        if rule.program_key:
            errors["program_key"].append(_("The supporters' digest is for the whole clinic."))
    if not Decimal(0) <= Decimal(rule.send_probability) <= Decimal(1):
        errors["send_probability"].append(_("The probability must be between 0 and 1."))
    if errors:
        raise ValidationError(dict(errors))
    allowed = _span(settings.allowed_from, settings.allowed_until)
    hours = _("%(start)s-%(end)s") % {
        "start": _hhmm(settings.allowed_from),
        "end": _hhmm(settings.allowed_until),
    }
    if not _span(rule.window_from, rule.window_until) & allowed:
        raise ValidationError(
            {
                "window_from": _(
                    "This rule would send only between %(start)s and %(end)s, outside the "
                    "clinic's hours %(hours)s."
                )
                % {
                    "start": _hhmm(rule.window_from),
                    "end": _hhmm(rule.window_until),
                    "hours": hours,
                }
            }
        )
    if rule.send_at is not None and _minutes(rule.send_at) not in allowed:
        raise ValidationError(
            {
                "send_at": _(
                    "This rule would send at %(at)s, outside the clinic's hours %(hours)s."
                )
                % {"at": _hhmm(rule.send_at), "hours": hours}
            }
        )


RULE_FIELDS = (
    "enabled",
    "send_at",
    "window_from",
    "window_until",
    "inactivity_days",
    "digest_frequency",
    "send_probability",
    "channels",
)


def _plain(value: Any) -> Any:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def save_rule(
    *,
    organization: Organization,
    actor: User,
    kind: str,
    program_key: str = "",
    values: Mapping[str, Any],
) -> ReminderRule:
    """Create or change the clinic's rule of `kind` for `program_key` (blank: every
    program). Refused with the reason when it would only send outside the clinic's hours.
    Audited as `nudges.rule.save` with the fields that changed."""
    if kind not in RuleKind.values:
        raise ValidationError({"kind": _("Unknown kind of reminder.")})
    rule = (
        ReminderRule.objects.select_for_update()
        .filter(organization=organization, program_key=program_key, kind=kind)
        .first()
    )
    created = rule is None
    if rule is None:
        base = ReminderRule.objects.filter(
            organization=organization, program_key="", kind=kind
        ).first()
        rule = ReminderRule(organization=organization, program_key=program_key, kind=kind)
        if base is not None:
            for name in RULE_FIELDS:
                setattr(rule, name, getattr(base, name))
    before = {name: _plain(getattr(rule, name)) for name in RULE_FIELDS}
    for name, value in values.items():
        if name not in RULE_FIELDS:
            raise ValidationError({name: _("This field cannot be changed here.")})
        setattr(rule, name, value)
    rule.full_clean(exclude=["organization"])
    check_rule(rule, outreach_settings(organization))
    after = {name: _plain(getattr(rule, name)) for name in RULE_FIELDS}
    changed = {k: [before[k], after[k]] for k in RULE_FIELDS if before[k] != after[k]}
    if not created and not changed:
        return rule
    rule.save()
    audit.record(
        action="nudges.rule.save",
        actor=actor,
        subject=rule,
        organization=organization,
        details={"kind": kind, "program_key": program_key, "created": created, **changed},
    )
    return rule


@transaction.atomic
def delete_program_rule(*, rule: ReminderRule, actor: User) -> None:
    """Remove a program's own rule, so the clinic-wide rule holds for it again. A rule
    with decision points stays (switched off) so the trial data keeps its rule."""
    if not rule.program_key:
        raise ValidationError(_("The clinic-wide rule cannot be removed; switch it off instead."))
    if DecisionPoint.objects.filter(rule=rule).exists():
        rule.enabled = False
        rule.save(update_fields=["enabled", "updated_at"])
        action = "nudges.rule.disable"
    else:
        rule.delete()
        action = "nudges.rule.delete"
    audit.record(
        action=action,
        actor=actor,
        object_type="nudges.reminderrule",
        object_id=str(rule.pk),
        organization=rule.organization_id,
        details={"kind": rule.kind, "program_key": rule.program_key},
    )


OUTREACH_FIELDS = ("allowed_from", "allowed_until", "daily_cap", "weekly_cap")


@transaction.atomic
def save_outreach_settings(
    *, organization: Organization, actor: User, values: Mapping[str, Any]
) -> OutreachSettings:
    """Change the clinic's allowed hours and caps. Refused when a rule in force would then
    send only outside the allowed hours (the message names it). Audited."""
    found = OutreachSettings.objects.select_for_update().filter(organization=organization).first()
    settings = found or OutreachSettings(organization=organization)
    before = {name: _plain(getattr(settings, name)) for name in OUTREACH_FIELDS}
    for name, value in values.items():
        if name not in OUTREACH_FIELDS:
            raise ValidationError({name: _("This field cannot be changed here.")})
        setattr(settings, name, value)
    settings.full_clean(exclude=["organization"])
    for rule in ReminderRule.objects.filter(organization=organization, enabled=True):
        try:
            check_rule(rule, settings)
        except ValidationError as error:
            reason = " ".join(m for msgs in error.message_dict.values() for m in msgs)
            raise ValidationError(
                {
                    "allowed_from": _("%(rule)s: %(reason)s")
                    % {"rule": RuleKind(rule.kind).label, "reason": reason}
                }
            ) from None
    after = {name: _plain(getattr(settings, name)) for name in OUTREACH_FIELDS}
    changed = {k: [before[k], after[k]] for k in OUTREACH_FIELDS if before[k] != after[k]}
    if found is not None and not changed:
        return settings
    settings.save()
    audit.record(
        action="nudges.settings.save",
        actor=actor,
        subject=settings,
        organization=organization,
        details=changed,
    )
    return settings


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


def _send_from(local: Local, moment: time) -> datetime:
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
            _send_from(by_zone[zone], moment),
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
        open_ones = QuestionnaireAssignment.objects.filter(
            enrollment=OuterRef("pk"),
            status=AssignmentStatus.OVERDUE,
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
            max(_send_from(by_zone[zone], moment), since_at),
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
            _send_from(by_zone[zone], moment),
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
            _send_from(by_zone[zone], moment),
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


# The supporters' digest --------------------------------------------------------------


@dataclass(frozen=True)
class DigestDue:
    """A supporter's digest: counts of what needs them, never a patient's name."""

    rule: ReminderRule
    supporter_id: UUID
    period: str
    send_from: datetime
    counts: dict[str, int]

    @property
    def key(self) -> str:
        return f"digest:{self.rule.pk}:{self.supporter_id}:{self.period}"


def digests_due(rule: ReminderRule, now: datetime) -> list[DigestDue]:
    """The supporters of the rule's clinic whose digest time has come in this period and
    who have something waiting: messages waiting for a reply, overdue questionnaires and
    open alerts on their caseload. Three queries, however many supporters and patients."""
    if rule.kind != RuleKind.SUPPORTER_DIGEST or not rule.enabled:
        return []
    org_zone = rule.organization.time_zone
    team = CareTeamMember.objects.filter(
        active=True,
        enrollment__organization_id=rule.organization_id,
        enrollment__status=EnrollmentStatus.ACTIVE,
    )
    zones = (
        team.annotate(
            zone=Coalesce(
                NullIf(F("supporter__time_zone"), Value("")),
                Value(org_zone),
                output_field=CharField(),
            )
        )
        .values_list("supporter_id", "zone")
        .distinct()
    )
    supporters: dict[Any, Local] = {}
    clocks = {c.zone: c for c in local_clocks({z for _s, z in zones} | {org_zone}, now)}
    moment = rule.send_at or rule.window_from
    for supporter, zone in zones:
        local = clocks.get(zone) or clocks.get(org_zone)
        if local is None or not (moment <= local.clock <= rule.window_until):
            continue
        if rule.digest_frequency == DigestFrequency.WEEKLY and local.day.weekday() != 0:
            continue
        supporters[supporter] = local
    if not supporters:
        return []
    counts = {
        row["supporter_id"]: row
        for row in team.filter(supporter_id__in=list(supporters))
        .values("supporter_id")
        .annotate(
            messages=Count(
                "enrollment",
                filter=Q(enrollment__thread__waiting_since__isnull=False),
                distinct=True,
            ),
            questionnaires=Count(
                "enrollment__questionnaires",
                filter=Q(enrollment__questionnaires__status=AssignmentStatus.OVERDUE),
                distinct=True,
            ),
        )
    }
    alerts = dict(
        Alert.objects.filter(
            assigned_to_id__in=list(supporters),
            state__in=(AlertState.OPEN, AlertState.ACKNOWLEDGED),
            enrollment__organization_id=rule.organization_id,
        )
        .values("assigned_to_id")
        .annotate(n=Count("pk"))
        .values_list("assigned_to_id", "n")
    )
    sent = set(
        Delivery.objects.filter(
            organization_id=rule.organization_id,
            template=RuleKind.SUPPORTER_DIGEST,
            recipient_id__in=list(supporters),
            created_at__gte=now - timedelta(days=7 if rule.digest_frequency == "weekly" else 1),
        ).values_list("key", flat=True)
    )
    found = []
    for supporter, local in sorted(supporters.items(), key=lambda item: str(item[0])):
        row: Mapping[str, Any] = counts.get(supporter) or {}
        numbers = {
            "messages": int(row.get("messages", 0)),
            "questionnaires": int(row.get("questionnaires", 0)),
            "alerts": int(alerts.get(supporter, 0)),
        }
        if not any(numbers.values()):
            continue
        if rule.digest_frequency == DigestFrequency.WEEKLY:
            year, week, _day = local.day.isocalendar()
            period = f"{year}-W{week:02d}"
        else:
            period = local.day.isoformat()
        digest = DigestDue(rule, supporter, period, _send_from(local, moment), numbers)
        if any(key.startswith(digest.key) for key in sent):
            continue
        found.append(digest)
    return found
