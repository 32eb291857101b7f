"""Decision points: each moment a rule could nudge a patient, recorded for a trial.

For every (rule, enrollment, period) that `rules.due` finds, `evaluate_rules(now)`:

1. asks `services.availability` whether the patient may be nudged now, and records the
   answer and its reason (an unavailable patient is not randomised: action `none`);
2. draws a uniform number in [0, 1) and sends when it is below the rule's
   `send_probability` (1 sends always; below 1 is a micro-randomized trial); the draw and
   the probability are recorded;
3. claims the decision point: the unique (rule, enrollment, period) row makes it happen
   once, however many clocks evaluate the rules at the same time;
4. for `send`, queues the nudge (`services.queue_nudge(decision=...)`) in the same
   transaction, keyed by the decision point.

`record_proximal_outcomes(now)` fills in, 24 hours after each decision, whether the
patient did anything themselves in that time (engagement.PATIENT_INITIATED).

The draw comes from `random.SystemRandom` in production; tests inject a seeded
`random.Random`. `dry_run=True` decides the same way but writes nothing: it returns what
would happen (`trellis nudges preview`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from trellis.accounts.models import Organization, User
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.engagement.models import PATIENT_INITIATED, EngagementEvent
from trellis.nudges import respect, rules, services
from trellis.nudges.models import Action, DecisionPoint, Delivery, RuleKind

# How long a nudge stays worth sending after its moment, by kind (then it is dropped).
EXPIRES_AFTER: dict[str, timedelta] = {
    RuleKind.EXERCISE_TODAY: timedelta(hours=6),
    RuleKind.MESSAGE_WAITING: timedelta(hours=24),
    RuleKind.WEEKLY_SUMMARY: timedelta(hours=24),
    RuleKind.SUPPORTER_DIGEST: timedelta(hours=12),
}
DEFAULT_EXPIRY = timedelta(hours=12)


class Draws(Protocol):
    def random(self) -> float: ...


def production_draws() -> Draws:
    """Unpredictable draws for real trials (the operating system's randomness)."""
    return random.SystemRandom()


@dataclass
class Decision:
    """What was (or, in a dry run, would be) decided at one decision point."""

    due: rules.Due
    decided_at: datetime
    available: bool
    reason: str
    channels: list[str]
    probability: Decimal
    draw: float | None
    action: str
    not_before: datetime | None = None
    expires_at: datetime | None = None
    decision_id: int | None = None
    # Dry run only: when the nudge would really go (after quiet hours), or why it would
    # not go at all (the same reckoning `services.queue_nudge` makes).
    waits_until: datetime | None = None
    suppressed: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    claimed: bool = True


@dataclass
class Evaluation:
    """What one evaluation of the rules did."""

    decisions: list[Decision] = field(default_factory=list)
    digests: int = 0
    lost_claims: int = 0

    @property
    def actions(self) -> Counter[str]:
        return Counter(d.action for d in self.decisions if d.claimed)


@dataclass
class Ledger:
    """The dry run's memory: claims made and nudges sent, in place of the database."""

    claimed: set[tuple[Any, Any, str]] = field(default_factory=set)
    sent: list[tuple[Any, datetime]] = field(default_factory=list)

    def counts(self, recipient: Any, at: datetime, zone: Any) -> tuple[int, int]:
        day = respect.local_day_bounds(at, zone)
        week = respect.local_week_bounds(at, zone)
        mine = [moment for who, moment in self.sent if who == recipient]
        return (
            sum(day[0] <= m < day[1] for m in mine),
            sum(week[0] <= m < week[1] for m in mine),
        )


def choose(probability: Decimal, draws: Draws) -> tuple[float, str]:
    """The uniform draw and the action it gives: send when the draw is below the
    probability (0 never sends, 1 always does)."""
    draw = draws.random()
    return draw, Action.SEND if draw < float(probability) else Action.HOLD


def _expiry(kind: str, moment: datetime) -> datetime:
    return moment + EXPIRES_AFTER.get(kind, DEFAULT_EXPIRY)


def decide(
    due: rules.Due,
    *,
    now: datetime,
    enrollment: Enrollment,
    draws: Draws,
    dry_run: bool = False,
    ledger: Ledger | None = None,
    standing: services.Standing | None = None,
) -> Decision:
    """Record one decision point (and queue its nudge when the action is `send`).
    `standing`: the patient's consents and blocks, read with their neighbours'."""
    rule = due.rule
    recipient = enrollment.patient
    found = services.availability(
        recipient=recipient, enrollment=enrollment, at=now, standing=standing
    )
    available, reason = found.available, found.reason
    if available and dry_run and ledger is not None:
        # The dry run writes no deliveries, so its own earlier nudges count here.
        limits = services.outreach_settings(enrollment.organization)
        zone = services.zone_of(
            recipient, enrollment.organization, services.preferences_of(recipient)
        )
        today, week = ledger.counts(recipient.pk, now, zone)
        reason = respect.cap_reached(
            today=today, this_week=week, daily_cap=limits.daily_cap, weekly_cap=limits.weekly_cap
        )
        available = not reason
    probability = Decimal(rule.send_probability)
    draw: float | None = None
    action: str = Action.NONE
    if available:
        draw, action = choose(probability, draws)
    decision = Decision(
        due=due,
        decided_at=now,
        available=available,
        reason=reason,
        channels=list(found.channels),
        probability=probability,
        draw=draw,
        action=action,
    )
    if action == Action.SEND:
        decision.not_before = max(now, due.send_from)
        decision.expires_at = _expiry(rule.kind, decision.not_before)
    if dry_run:
        if action == Action.SEND:
            _reckon_hours(decision, enrollment)
        if ledger is not None:
            ledger.claimed.add((rule.pk, due.enrollment_id, due.period))
            if action == Action.SEND and not decision.suppressed:
                ledger.sent.append((recipient.pk, decision.waits_until or now))
        return decision
    try:
        with transaction.atomic():
            point = DecisionPoint.objects.create(
                rule=rule,
                enrollment=enrollment,
                period=due.period,
                decided_at=now,
                available=available,
                unavailable_reason=reason[:64],
                probability=probability,
                draw=draw,
                action=action,
                outcome_due_at=now + timedelta(hours=DecisionPoint.OUTCOME_HOURS),
            )
            decision.decision_id = point.pk
            if action == Action.SEND:
                decision.deliveries = services.queue_nudge(
                    recipient=recipient,
                    organization=enrollment.organization,
                    template=rule.kind,
                    context={**due.context, "rule": rule.kind, "period": due.period},
                    key=f"decision:{point.pk}",
                    enrollment=enrollment,
                    decision=point,
                    channels=list(rule.channels) or None,
                    not_before=decision.not_before or now,
                    expires_at=decision.expires_at,
                    standing=standing,
                )
    except IntegrityError:
        # Another clock claimed this (rule, enrollment, period) first: it decides.
        decision.claimed = False
    return decision


def _reckon_hours(decision: Decision, enrollment: Enrollment) -> None:
    """Where quiet hours or the allowed hours would move a dry run's nudge, as
    `services.queue_nudge` moves a real one."""
    recipient = enrollment.patient
    hours = services.hours_for(
        recipient, enrollment.organization, services.preferences_of(recipient)
    )
    wanted = decision.not_before or decision.decided_at
    decision.waits_until = hours.next_allowed(wanted)
    if decision.waits_until is None:
        decision.suppressed = "no_allowed_hours"
    elif decision.expires_at is not None and decision.waits_until >= decision.expires_at:
        decision.suppressed = hours.why_not(wanted) or "expired"
    rule_channels = list(decision.due.rule.channels)
    if rule_channels:
        decision.channels = [c for c in decision.channels if c in rule_channels]


# Due enrollments are decided in slices of this many; the patients' consents and blocks
# are read once for a slice (a slice takes a few seconds, so the reading stays fresh, and
# the worker checks them again before sending anything).
SLICE = 200


def _enrollments(ids: Iterable[Any]) -> dict[Any, Enrollment]:
    """The enrollments with what deciding needs in the same read: the patient and their
    preferences, the clinic and its outreach limits."""
    return Enrollment.objects.select_related(
        "patient__preferences", "organization__outreach_settings"
    ).in_bulk(list(ids))


def evaluate_rules(
    now: datetime,
    *,
    draws: Draws | None = None,
    organization: Organization | None = None,
    enrollment_ids: Iterable[Any] | None = None,
    dry_run: bool = False,
    ledger: Ledger | None = None,
    digests: bool = True,
) -> Evaluation:
    """Decide every decision point due at `now` (the clock calls this every few minutes;
    calling it again in the same period decides nothing twice). Returns what happened."""
    timeutil.ensure_aware(now)
    draws = draws or production_draws()
    ids = list(enrollment_ids) if enrollment_ids is not None else None
    result = Evaluation()
    zones = rules.zones_in_use(organization=organization, enrollment_ids=ids)
    for rule, overridden in rules.rules_in_force(organization=organization):
        found = rules.due(
            rule,
            now,
            zones=zones,
            overridden=overridden,
            enrollment_ids=ids,
            claimed=ledger.claimed if ledger is not None else None,
        )
        if not found:
            continue
        for start in range(0, len(found), SLICE):
            part = found[start : start + SLICE]
            enrollments = _enrollments(d.enrollment_id for d in part)
            standings = services.standings(e.patient_id for e in enrollments.values())
            for item in part:
                enrollment = enrollments[item.enrollment_id]
                decision = decide(
                    item,
                    now=now,
                    enrollment=enrollment,
                    draws=draws,
                    dry_run=dry_run,
                    ledger=ledger,
                    standing=standings[enrollment.patient_id],
                )
                result.decisions.append(decision)
                result.lost_claims += not decision.claimed
    if digests and not dry_run and ids is None:
        result.digests = send_digests(now, organization=organization)
    return result


def digest_items(counts: dict[str, int]) -> list[dict[str, Any]]:
    labels = {
        "messages": _("Patients waiting for your reply"),
        "questionnaires": _("Overdue questionnaires"),
        "alerts": _("Open alerts"),
    }
    return [{"label": str(labels[k]), "count": v} for k, v in counts.items() if v]


def send_digests(now: datetime, *, organization: Organization | None = None) -> int:
    """Queue the supporters' digests whose time has come (once per period: the delivery
    key holds the period). Counts only, never a patient's name. Returns how many."""
    queued = 0
    for rule, _overridden in rules.rules_in_force(
        organization=organization, kinds=[RuleKind.SUPPORTER_DIGEST]
    ):
        found = rules.digests_due(rule, now)
        people = User.objects.in_bulk([d.supporter_id for d in found])
        for digest in found:
            services.queue_nudge(
                recipient=people[digest.supporter_id],
                organization=rule.organization,
                template=RuleKind.SUPPORTER_DIGEST,
                context={"items": digest_items(digest.counts), "counts": digest.counts},
                key=digest.key,
                channels=list(rule.channels) or None,
                not_before=max(now, digest.send_from),
                expires_at=_expiry(RuleKind.SUPPORTER_DIGEST, max(now, digest.send_from)),
            )
            queued += 1
    return queued


def record_proximal_outcomes(now: datetime) -> int:
    """For every decision point whose 24 hours have passed: whether the patient did
    anything themselves in (decided_at, decided_at + 24 h]. One UPDATE; returns how many."""
    timeutil.ensure_aware(now)
    active = Exists(
        EngagementEvent.objects.filter(
            enrollment_id=OuterRef("enrollment_id"),
            type__in=sorted(PATIENT_INITIATED),
            occurred_at__gt=OuterRef("decided_at"),
            occurred_at__lte=OuterRef("outcome_due_at"),
        )
    )
    return DecisionPoint.objects.filter(
        outcome_recorded_at__isnull=True, outcome_due_at__lte=now
    ).update(outcome_active=active, outcome_recorded_at=now)
