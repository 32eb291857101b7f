"""Background jobs of the insights app."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.core import timeutil
from trellis.core.periodic import periodic
from trellis.insights import rules


@periodic(every=timedelta(hours=1))
@task
def evaluate_alert_rules() -> dict[str, int]:
    """Every hour: raise an alert for each new inactivity, unanswered message, reliable
    deterioration and lack of improvement, and close those whose condition has ended."""
    result = rules.evaluate(timeutil.now())
    return {**result.raised, "resolved": result.resolved}
