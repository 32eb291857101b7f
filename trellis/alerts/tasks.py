"""Background jobs of the alerts app."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.alerts import safety
from trellis.core import timeutil
from trellis.core.periodic import periodic


@periodic(every=timedelta(minutes=1))
@task
def escalate_due_safety_alerts() -> int:
    """Every minute: any safety event still without its alert gets one, and safety alerts
    nobody acknowledged in time go to a supervisor."""
    now = timeutil.now()
    safety.raise_missing_alerts(now)
    return len(safety.escalate_due_alerts(now))
