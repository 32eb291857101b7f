"""Filling a reply template from the patient's record, so a supporter starts from a
personal message ("Well done on doing Slow breathing") and edits it before sending.

Placeholders are written in braces: {first_name}, {last_exercise}, {exercises_this_week},
{chapter_title}, {supporter_name}, {days_since_last_activity}. A placeholder Trellis does
not know is left out, and a stray brace stays as typed: a template never breaks the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils.translation import gettext as _

from trellis.accounts.models import User
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.engagement.models import EngagementEvent, EventType
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.journey.queries import today
from trellis.programs.models import StepKind

PLACEHOLDER = re.compile(r"\{(\w+)\}")
KNOWN = (
    "first_name",
    "last_exercise",
    "exercises_this_week",
    "chapter_title",
    "supporter_name",
    "days_since_last_activity",
)


def _first_name(enrollment: Enrollment, supporter: User | None, now: datetime) -> str:
    patient = enrollment.patient
    if patient.preferred_name:
        return patient.preferred_name
    return (patient.full_name or "").split(" ")[0] or _("there")


def _last_exercise(enrollment: Enrollment, supporter: User | None, now: datetime) -> str:
    progress = (
        StepProgress.objects.filter(
            enrollment_id=enrollment.pk,
            step__kind=StepKind.EXERCISE,
            status=ProgressStatus.COMPLETED,
            completed_at__lte=now,
        )
        .select_related("step")
        .order_by("-completed_at")
        .first()
    )
    return progress.step.title if progress is not None else _("your exercises")


def _exercises_this_week(enrollment: Enrollment, supporter: User | None, now: datetime) -> str:
    count = StepProgress.objects.filter(
        enrollment_id=enrollment.pk,
        step__kind=StepKind.EXERCISE,
        status=ProgressStatus.COMPLETED,
        completed_at__gt=now - timedelta(days=7),
        completed_at__lte=now,
    ).count()
    return str(count)


def _chapter_title(enrollment: Enrollment, supporter: User | None, now: datetime) -> str:

    try:
        return today(enrollment, now).chapter.title
    except (LookupError, ValueError, AttributeError):
        return _("your program")


def _supporter_name(enrollment: Enrollment, supporter: User | None, now: datetime) -> str:
    return supporter.display_name if supporter is not None else ""


def _days_since(enrollment: Enrollment, supporter: User | None, now: datetime) -> str:
    last = (
        EngagementEvent.objects.filter(enrollment_id=enrollment.pk, occurred_at__lte=now)
        .exclude(type=EventType.CARE_TEAM_MESSAGE)
        .aggregate(last=Max("occurred_at"))["last"]
    )
    since = last or enrollment.started_at
    return str(max(0, (now - since).days))


VALUES: dict[str, Callable[[Enrollment, User | None, datetime], str]] = {
    "first_name": _first_name,
    "last_exercise": _last_exercise,
    "exercises_this_week": _exercises_this_week,
    "chapter_title": _chapter_title,
    "supporter_name": _supporter_name,
    "days_since_last_activity": _days_since,
}


def fill(
    template_body: str,
    enrollment: Enrollment,
    *,
    supporter: User | None,
    now: datetime | None = None,
) -> str:
    """The template with each known placeholder replaced by the patient's own details."""
    now = now or timeutil.now()
    cache: dict[str, str] = {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        compute = VALUES.get(name)
        if compute is None:
            return ""
        if name not in cache:
            cache[name] = compute(enrollment, supporter, now)
        return cache[name]

    filled = PLACEHOLDER.sub(value, template_body or "")
    # Leaving out an unknown placeholder can leave doubled spaces or a space before a stop.
    filled = re.sub(r"[ \t]{2,}", " ", filled)
    return re.sub(r" +([.,!?])", r"\1", filled).strip()
