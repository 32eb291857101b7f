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
    """Every minute: safety alerts nobody acknowledged in time go to a supervisor. (A safety
    event and its alert are written in one transaction, so none is ever left without.)"""
    return len(safety.escalate_due_alerts(timeutil.now()))
