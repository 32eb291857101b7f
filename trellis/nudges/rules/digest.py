"""The supporters' digest: who has something waiting, counted in three queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db.models import (
    CharField,
    Count,
    F,
    Q,
    Value,
)
from django.db.models.functions import Coalesce, NullIf

from trellis.alerts.models import Alert, AlertState
from trellis.care.models import CareTeamMember, EnrollmentStatus
from trellis.measures.models import AssignmentStatus
from trellis.nudges.models import (
    Delivery,
    DigestFrequency,
    ReminderRule,
    RuleKind,
)
from trellis.nudges.rules.due import Local, local_clocks, send_from

DIGEST_WEEKDAY = 0  # a weekly digest goes out on Mondays (date.weekday())


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
        if (
            rule.digest_frequency == DigestFrequency.WEEKLY
            and local.day.weekday() != DIGEST_WEEKDAY
        ):
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
        digest = DigestDue(rule, supporter, period, send_from(local, moment), numbers)
        if any(key.startswith(digest.key) for key in sent):
            continue
        found.append(digest)
    return found
