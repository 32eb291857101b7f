"""Building blocks for the rule and decision tests: patients enrolled in the test program
with their preferences, the clinic's default rules, and a clock to step forward."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from trellis.accounts.models import Organization, Role
from trellis.accounts.services import create_person
from trellis.care.models import Enrollment, Preferences, SupportLevel
from trellis.journey.tests.factories import publish_test_pack
from trellis.nudges import rules
from trellis.nudges.models import ReminderRule, RuleKind
from trellis.onboarding.services import enroll_patient as enroll

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def enroll_persona(
    cast: Any,
    key: str = "patient_alex",
    *,
    now: datetime = T0,
    level: str = SupportLevel.SELF_GUIDED,
    supporters: tuple[str, ...] = (),
) -> Enrollment:
    return enroll(
        patient=cast[key],
        program_version=publish_test_pack(),
        support_level=level,
        supporters=[cast[s] for s in supporters],
        actor=cast["supervisor_ruth"],
        now=now,
    )


def prefer(user: Any, **values: Any) -> Preferences:
    """A patient's reminder preferences, as their preferences page would save them."""
    prefs, _created = Preferences.objects.update_or_create(user=user, defaults=values)
    return prefs


def more_patients(
    organization: Organization, count: int, *, now: datetime = T0, prefix: str = "many"
) -> list[Enrollment]:
    """`count` extra patients of the clinic, each enrolled in the test program."""
    version = publish_test_pack()
    made = []
    for n in range(count):
        membership = create_person(
            organization=organization,
            email=f"{prefix}{n}@patients.example",
            full_name=f"Patient {prefix} {n}",
            role=Role.PATIENT,
            actor=None,
        )
        made.append(
            enroll(
                patient=membership.user,
                program_version=version,
                support_level=SupportLevel.SELF_GUIDED,
                supporters=[],
                actor=None,
                now=now,
            )
        )
    return made


def only_rule(organization: Organization, kind: str, **values: Any) -> ReminderRule:
    """The clinic's default rules with only `kind` switched on (changed by `values`)."""
    rules.ensure_default_rules(organization)
    ReminderRule.objects.filter(organization=organization).exclude(kind=kind).update(enabled=False)
    rule = ReminderRule.objects.get(organization=organization, program_key="", kind=kind)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.enabled = True
    rule.save()
    return rule


def ticks(
    start: datetime, end: datetime, every: timedelta = timedelta(minutes=15)
) -> Iterator[datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += every


def seeded(seed: int = 20260302) -> random.Random:
    return random.Random(seed)


EXERCISE = RuleKind.EXERCISE_TODAY
NINE = time(9, 0)
