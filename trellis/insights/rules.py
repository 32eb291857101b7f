"""Alert rules: who needs a supporter's attention, found by the hourly `evaluate` job.

Each rule can be switched off, or its threshold changed, by a clinic for one level of
support or for every level (AlertRuleSetting); without a setting the default applies:

- Inactivity: no activity (any patient action in the event log) for 5 days for coached
  and therapist-assisted patients, 10 days for self-guided ones. Resolved by Trellis
  when the patient is active again.
- Unanswered message: a patient message waiting 2 days for a reply from the care team.
  Resolved by Trellis when someone replies.
- Reliable deterioration: PHQ-9 or GAD-7 up by at least its reliable change (the
  instrument file's `reliable_change`: PHQ-9 6, GAD-7 4 as shipped) between the first and
  the latest score (the NHS Talking Therapies rule, `measures.outcomes`).
- No reliable improvement: 6 weeks after starting, with two or more PHQ-9 or GAD-7
  scores, and no reliable improvement between the first and the latest.
- Missed session: raised by the appointments app when a no-show is recorded; a clinic
  can switch it off here.

Each condition raises one alert: while an alert of the kind is open or acknowledged,
nothing new is raised; after it was resolved or dismissed, only a new condition (a later
message, a later silence, a later score) raises another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trellis.alerts.models import Alert, AlertKind, AlertRuleSetting, AlertState, Severity
from trellis.alerts.rule_settings import (
    DEFAULTS,
    _all_settings,
    _resolve,
)
from trellis.alerts.services import raise_alert, resolve_automatically
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus, SupportLevel
from trellis.care.services import suggest_step_change
from trellis.engagement.models import EngagementEvent
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.outcomes import classify
from trellis.messaging.models import Thread
from trellis.programs.instruments import reliable_change

LIVE = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
# Event types written by Trellis itself, not by the patient: they are not activity.
NOT_PATIENT_ACTIVITY = (
    "questionnaire_due",
    "questionnaire_overdue",
    "appointment_missed",
    "reminder_sent",
    "care_team_message",
)
PHQ9, GAD7 = "PHQ-9", "GAD-7"


def _cutoffs(
    kind: str, now: datetime, by_org: dict[Any, dict[tuple[str, str], AlertRuleSetting]]
) -> tuple[Case, Q]:
    """A SQL expression for each enrollment's cutoff time under the rule (the moment
    before which the condition counts), and a filter leaving out clinics and levels where
    the rule is off. One query covers every clinic, whatever its settings."""
    default = DEFAULTS[kind]
    unit = timedelta(weeks=1) if default.unit == "weeks" else timedelta(days=1)
    whens = []
    off = Q(pk__in=[])
    for org_id, rows in by_org.items():
        for level in SupportLevel.values:
            setting = _resolve(kind, level, rows)
            match = Q(organization_id=org_id, support_level=level)
            if not setting.enabled:
                off |= match
            elif setting.threshold is not None:
                whens.append(When(match, then=Value(now - setting.threshold * unit)))
    for level in SupportLevel.values:
        threshold = default.thresholds[level]
        if default.enabled and threshold is not None:
            whens.append(When(support_level=level, then=Value(now - threshold * unit)))
        elif not default.enabled:
            off |= Q(support_level=level) & ~Q(organization_id__in=list(by_org))
    return Case(*whens, default=None, output_field=DateTimeField()), off


def _primary_supporters(enrollment_ids: list[Any]) -> dict[Any, Any]:
    """Each enrollment's first active supporter (primary before secondary), one query."""
    found: dict[Any, Any] = {}
    members = (
        CareTeamMember.objects.filter(
            enrollment_id__in=enrollment_ids, active=True, supporter__is_active=True
        )
        .select_related("supporter")
        .order_by("enrollment_id", "role", "created_at")
    )
    for member in members:
        found.setdefault(member.enrollment_id, member.supporter)
    return found


def _active(now: datetime) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, started_at__lte=now)


def _blocked(kind: str, condition: Any) -> Exists:
    """An alert of this kind that is live, or that was already raised for this condition."""
    return Exists(
        Alert.objects.filter(enrollment_id=OuterRef("pk"), kind=kind).filter(
            Q(state__in=LIVE) | Q(condition_since=condition)
        )
    )


def _days(delta: timedelta) -> int:
    return max(int(delta.total_seconds() // 86400), 0)


# Inactivity ------------------------------------------------------------------------------


def _last_activity(now: datetime) -> Coalesce:

    latest = (
        EngagementEvent.objects.filter(enrollment_id=OuterRef("pk"), occurred_at__lte=now)
        .exclude(type__in=NOT_PATIENT_ACTIVITY)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    return Coalesce(Subquery(latest), F("started_at"), output_field=DateTimeField())


def inactive(now: datetime, by_org: dict[Any, Any] | None = None) -> list[dict[str, Any]]:
    """Active enrollments silent past their clinic's threshold with no alert for this silence."""
    cutoff, off = _cutoffs(AlertKind.INACTIVITY, now, _all_settings() if by_org is None else by_org)
    return [
        dict(row)
        for row in _active(now)
        .exclude(off)
        .annotate(last_activity=_last_activity(now), cutoff=cutoff)
        .filter(cutoff__isnull=False, last_activity__lt=F("cutoff"))
        .exclude(_blocked(AlertKind.INACTIVITY, OuterRef("last_activity")))
        .values("pk", "last_activity")
    ]


# Unanswered messages ----------------------------------------------------------------------


def unanswered(now: datetime, by_org: dict[Any, Any] | None = None) -> list[dict[str, Any]]:
    """Active enrollments with a patient message waiting past the threshold, not yet alerted."""

    waiting = Thread.objects.filter(enrollment_id=OuterRef("pk")).values("waiting_since")[:1]
    cutoff, off = _cutoffs(
        AlertKind.UNANSWERED_MESSAGE, now, _all_settings() if by_org is None else by_org
    )
    return [
        dict(row)
        for row in _active(now)
        .exclude(off)
        .annotate(waiting_since=Subquery(waiting, output_field=DateTimeField()), cutoff=cutoff)
        .filter(cutoff__isnull=False, waiting_since__isnull=False)
        .filter(waiting_since__lte=F("cutoff"))
        .exclude(_blocked(AlertKind.UNANSWERED_MESSAGE, OuterRef("waiting_since")))
        .values("pk", "waiting_since")
    ]


# Scores -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreChange:
    """First and latest PHQ-9 and GAD-7 totals of one enrollment."""

    enrollment_id: Any
    started_at: datetime
    first: dict[str, int]
    last: dict[str, int]
    counts: dict[str, int]
    latest_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    def measured(self) -> list[str]:
        """The questionnaires measured at least twice."""
        return [code for code in (PHQ9, GAD7) if self.counts.get(code, 0) >= 2]

    def change(self, code: str) -> int:
        return self.last[code] - self.first[code]

    def outcome(self) -> tuple[bool, bool]:
        """(reliably improved, reliably deteriorated) by the NHS Talking Therapies rule;
        with only one questionnaire measured twice, by that one alone."""

        codes = self.measured()
        if len(codes) == 2:
            outcome = classify(self.first, self.last)
            return outcome.reliable_improvement, outcome.reliable_deterioration
        if not codes:
            return False, False
        change, reliable = self.change(codes[0]), reliable_change(codes[0])
        return change <= -reliable, change >= reliable


def score_changes(
    now: datetime, enrollments: QuerySet[Enrollment], *, carry: tuple[str, ...] = ()
) -> list[ScoreChange]:
    """First and latest totals for every enrollment with two or more PHQ-9 or GAD-7 scores,
    read in one query (correlated subqueries, no loop per enrollment). `carry` names
    annotations of `enrollments` to hand back in ScoreChange.extra."""

    def scored(code: str) -> QuerySet[QuestionnaireResponse]:
        return QuestionnaireResponse.objects.filter(
            enrollment_id=OuterRef("pk"),
            instrument=code,
            total__isnull=False,
            submitted_at__lte=now,
        )

    def total(code: str, order: str) -> Subquery:
        return Subquery(
            scored(code).order_by(order).values("total")[:1], output_field=IntegerField()
        )

    def count(code: str) -> Subquery:
        return Subquery(
            scored(code).order_by().values("enrollment_id").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        )

    latest = (
        QuestionnaireResponse.objects.filter(
            enrollment_id=OuterRef("pk"),
            instrument__in=(PHQ9, GAD7),
            total__isnull=False,
            submitted_at__lte=now,
        )
        .order_by("-submitted_at")
        .values("submitted_at")[:1]
    )
    rows = (
        enrollments.annotate(
            phq_first=total(PHQ9, "submitted_at"),
            phq_last=total(PHQ9, "-submitted_at"),
            phq_n=Coalesce(count(PHQ9), 0),
            gad_first=total(GAD7, "submitted_at"),
            gad_last=total(GAD7, "-submitted_at"),
            gad_n=Coalesce(count(GAD7), 0),
            latest_at=Subquery(latest, output_field=DateTimeField()),
        )
        .filter(Q(phq_n__gte=2) | Q(gad_n__gte=2))
        .values(
            "pk",
            "started_at",
            "phq_first",
            "phq_last",
            "phq_n",
            "gad_first",
            "gad_last",
            "gad_n",
            "latest_at",
            *carry,
        )
    )
    changes = []
    for row in rows:
        first, last = {}, {}
        for code, prefix in ((PHQ9, "phq"), (GAD7, "gad")):
            if row[f"{prefix}_first"] is not None:
                first[code] = row[f"{prefix}_first"]
                last[code] = row[f"{prefix}_last"]
        changes.append(
            ScoreChange(
                enrollment_id=row["pk"],
                started_at=row["started_at"],
                first=first,
                last=last,
                counts={PHQ9: row["phq_n"], GAD7: row["gad_n"]},
                latest_at=row["latest_at"],
                extra={name: row[name] for name in carry},
            )
        )
    return changes


def _score_words(change: ScoreChange, *, rising: bool) -> str:

    parts = []
    for code in change.measured():
        delta = change.change(code)
        if rising and delta >= reliable_change(code):
            parts.append(
                ngettext(
                    "%(code)s up %(n)d point since the start",
                    "%(code)s up %(n)d points since the start",
                    delta,
                )
                % {"code": code, "n": delta}
            )
        elif not rising:
            parts.append(
                _("%(code)s %(first)d → %(last)d")
                % {"code": code, "first": change.first[code], "last": change.last[code]}
            )
    return "; ".join(parts)


def _score_data(change: ScoreChange) -> dict[str, Any]:
    return {
        "first": change.first,
        "latest": change.last,
        "change": {code: change.change(code) for code in change.measured()},
        "responses": change.counts,
        "latest_at": change.latest_at.isoformat(),
    }


# The job --------------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What one run of the rules did."""

    raised: dict[str, int]
    resolved: int


def _resolve_ended(now: datetime) -> int:
    """Close inactivity and unanswered-message alerts whose condition has ended."""

    resolved = 0
    activity = EngagementEvent.objects.filter(
        enrollment_id=OuterRef("enrollment_id"),
        occurred_at__gt=OuterRef("condition_since"),
        occurred_at__lte=now,
    ).exclude(type__in=NOT_PATIENT_ACTIVITY)
    came_back = Alert.objects.filter(kind=AlertKind.INACTIVITY, state__in=LIVE).filter(
        Exists(activity) | ~Q(enrollment__status=EnrollmentStatus.ACTIVE)
    )
    for alert in came_back.select_related("enrollment"):
        ended = alert.enrollment.status != EnrollmentStatus.ACTIVE
        reason = _("The program has ended") if ended else _("The patient is active again")
        resolved += resolve_automatically(alert, reason=reason, now=now)
    still_waiting = Thread.objects.filter(
        enrollment_id=OuterRef("enrollment_id"), waiting_since=OuterRef("condition_since")
    )
    answered = Alert.objects.filter(kind=AlertKind.UNANSWERED_MESSAGE, state__in=LIVE).exclude(
        Exists(still_waiting)
    )
    for alert in answered.select_related("enrollment"):
        resolved += resolve_automatically(alert, reason=_("A reply was sent"), now=now)
    return resolved


def evaluate(now: datetime) -> Evaluation:
    """Run every rule once: close alerts whose condition has ended, then raise one alert
    for each new condition. Safe to run again at any time: nothing is raised twice."""

    by_org = _all_settings()
    result = Evaluation(raised=defaultdict(int), resolved=_resolve_ended(now))
    found: list[tuple[str, Any, str, str, dict[str, Any], datetime]] = []

    for row in inactive(now, by_org):
        days = _days(now - row["last_activity"])
        reason = ngettext("No activity for %(n)d day", "No activity for %(n)d days", days) % {
            "n": days
        }
        data = {"last_activity": row["last_activity"].isoformat(), "days": days}
        found.append(
            (AlertKind.INACTIVITY, row["pk"], Severity.MEDIUM, reason, data, row["last_activity"])
        )

    for row in unanswered(now, by_org):
        days = _days(now - row["waiting_since"])
        reason = ngettext("Message waiting %(n)d day", "Message waiting %(n)d days", days) % {
            "n": days
        }
        data = {"waiting_since": row["waiting_since"].isoformat(), "days": days}
        found.append(
            (
                AlertKind.UNANSWERED_MESSAGE,
                row["pk"],
                Severity.MEDIUM,
                reason,
                data,
                row["waiting_since"],
            )
        )

    _, deterioration_off = _cutoffs(AlertKind.DETERIORATION, now, by_org)
    improvement_cut, improvement_off = _cutoffs(AlertKind.NO_IMPROVEMENT, now, by_org)
    candidates = (
        _active(now)
        .exclude(deterioration_off & improvement_off)
        .annotate(
            improvement_cutoff=improvement_cut,
            deterioration_on=Case(
                When(deterioration_off, then=Value(False)),
                default=Value(True),
                output_field=BooleanField(),
            ),
        )
    )
    changes = score_changes(now, candidates, carry=("improvement_cutoff", "deterioration_on"))
    earlier = _earlier_score_alerts([c.enrollment_id for c in changes]) if changes else {}
    for change in changes:
        improved, worse = change.outcome()
        if worse:
            previous = earlier.get((AlertKind.DETERIORATION, change.enrollment_id), _NEVER)
            if change.extra["deterioration_on"] and (
                previous is not None and (previous is _NEVER or previous < change.latest_at)
            ):
                found.append(
                    (
                        AlertKind.DETERIORATION,
                        change.enrollment_id,
                        Severity.HIGH,
                        _score_words(change, rising=True),
                        _score_data(change),
                        change.latest_at,
                    )
                )
            continue
        cutoff = change.extra["improvement_cutoff"]
        if (
            not improved
            and cutoff is not None
            and change.started_at <= cutoff
            and (AlertKind.NO_IMPROVEMENT, change.enrollment_id) not in earlier
        ):
            weeks = _days(now - change.started_at) // 7
            reason = ngettext(
                "No reliable improvement after %(n)d week (%(scores)s)",
                "No reliable improvement after %(n)d weeks (%(scores)s)",
                weeks,
            ) % {"n": weeks, "scores": _score_words(change, rising=False)}
            found.append(
                (
                    AlertKind.NO_IMPROVEMENT,
                    change.enrollment_id,
                    Severity.MEDIUM,
                    reason,
                    _score_data(change),
                    change.started_at,
                )
            )

    if not found:
        return result
    enrollments = Enrollment.objects.select_related("organization").in_bulk(
        [item[1] for item in found]
    )
    supporters = _primary_supporters(list(enrollments))
    for kind, enrollment_id, severity, reason, data, since in found:
        alert = raise_alert(
            enrollments[enrollment_id],
            kind=kind,
            severity=severity,
            reason=reason,
            data=data,
            assigned_to=supporters.get(enrollment_id),
            now=now,
            condition_since=since,
        )
        if alert is not None and alert.raised_at == now and alert.condition_since == since:
            result.raised[kind] += 1
            scores_call_for_more = kind in (AlertKind.DETERIORATION, AlertKind.NO_IMPROVEMENT)
            if scores_call_for_more and _suggest_step_up(
                enrollments[enrollment_id], reason, supporters, now=now
            ):
                result.raised[AlertKind.STEP_CHANGE] += 1
    result.raised = dict(result.raised)
    return result


# Stepped care: scores that get worse, or do not get better, suggest more human support.
STEP_UP: dict[str, str] = {
    SupportLevel.SELF_GUIDED: SupportLevel.COACHED,
    SupportLevel.COACHED: SupportLevel.THERAPIST_ASSISTED,
}


def _suggest_step_up(
    enrollment: Enrollment, why: str, supporters: dict[Any, Any], *, now: datetime
) -> bool:
    """Suggest the next level of support (a rule's suggestion: a clinician decides) and
    raise a `step_change` alert so someone does. False when there is no higher level or a
    suggestion is already waiting."""
    from django.core.exceptions import ValidationError

    to_level = STEP_UP.get(enrollment.support_level)
    if to_level is None:
        return False
    label = SupportLevel(to_level).label
    try:
        change = suggest_step_change(
            enrollment,
            to_level=to_level,
            reason=_("%(why)s: more support may help.") % {"why": why},
            actor=None,
            now=now,
        )
    except ValidationError:
        return False
    alert = raise_alert(
        enrollment,
        kind=AlertKind.STEP_CHANGE,
        severity=Severity.MEDIUM,
        reason=_("Suggested step up to %(level)s: %(why)s") % {"level": label, "why": why},
        data={"step_change": str(change.pk), "to_level": to_level},
        assigned_to=supporters.get(enrollment.pk),
        now=now,
    )
    return alert is not None


# A marker for "no alert of this kind yet" (None means a live alert blocks any new one).
_NEVER = datetime.min.replace(tzinfo=UTC)


def _earlier_score_alerts(enrollment_ids: list[Any]) -> dict[tuple[str, Any], datetime | None]:
    """For the score rules, per (kind, enrollment): None while an alert is live (nothing
    new may be raised), else the latest condition already alerted."""
    blocked: dict[tuple[str, Any], datetime | None] = {}
    rows = Alert.objects.filter(
        enrollment_id__in=enrollment_ids,
        kind__in=(AlertKind.DETERIORATION, AlertKind.NO_IMPROVEMENT),
    ).values_list("kind", "enrollment_id", "state", "condition_since", "raised_at")
    for kind, enrollment_id, state, since, raised_at in rows:
        key = (kind, enrollment_id)
        if state in LIVE:
            blocked[key] = None
            continue
        mark = since or raised_at
        current = blocked.get(key, _NEVER)
        if current is not None and current < mark:
            blocked[key] = mark
    return blocked
