"""Clock jobs of questionnaires: say when one is due, and when one is overdue."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.core import timeutil
from trellis.core.periodic import periodic
from trellis.measures import services


@periodic(every=timedelta(minutes=5))
@task
def announce_due_questionnaires() -> int:
    """Every 5 minutes: one `questionnaire_due` event for each questionnaire that opened."""
    return services.announce_due(timeutil.now())


@periodic(every=timedelta(minutes=5))
@task
def mark_overdue_questionnaires() -> int:
    """Every 5 minutes: mark questionnaires past their window's overdue time (one
    `questionnaire_overdue` event each)."""
    return services.mark_overdue(timeutil.now())
