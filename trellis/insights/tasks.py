"""Background jobs of the alerts app."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.core import timeutil
from trellis.core.periodic import periodic
from trellis.insights import safety


@periodic(every=timedelta(minutes=1))
@task
def escalate_due_safety_alerts() -> int:
    """Every minute: any safety event still without its alert gets one, and safety alerts
    nobody acknowledged in time go to a supervisor."""
    now = timeutil.now()
    safety.raise_missing_alerts(now)
    return len(safety.escalate_due_alerts(now))


@periodic(every=timedelta(hours=1))
@task
def evaluate_alert_rules() -> dict[str, int]:
    """Every hour: raise an alert for each new inactivity, unanswered message, reliable
    deterioration and lack of improvement, and close those whose condition has ended."""
    from trellis.insights import rules

    result = rules.evaluate(timeutil.now())
    return {**result.raised, "resolved": result.resolved}
