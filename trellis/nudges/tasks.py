"""Background jobs of nudges, run by `trellis worker` and scheduled by `trellis clock`.

Every minute the clock enqueues `send_due_deliveries` once (its claim key is the job and
the minute, core.PeriodicRun), which fans out to TRELLIS_NUDGES_SENDERS sending tasks;
the workers share them, and each drains due deliveries in leased batches
(`trellis.nudges.worker`). Every five minutes the rules are evaluated (each decision point
claimed once by rule, enrollment and period) and the session reminders queued; every hour
the proximal outcomes of decision points 24 hours old are recorded.
docs/nudges-worker.md describes the whole path.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.tasks import task

from trellis.core import timeutil
from trellis.core.periodic import periodic
from trellis.nudges import appointment_reminders, decisions, worker

# A sending task stops claiming after this long, so the next minute's tasks do not pile
# up behind it; whatever is still due is taken by the next minute's batch.
SEND_BUDGET_SECONDS = 50.0


@periodic(every=timedelta(minutes=1))
@task
def send_due_deliveries() -> dict[str, int]:
    """The minute's batch: one sending task per sender, which any workers may take."""
    senders = max(1, int(settings.TRELLIS_NUDGES_SENDERS))
    for _ in range(senders):
        send_deliveries.enqueue()
    return {"senders": senders}


@task
def send_deliveries(budget_seconds: float = SEND_BUDGET_SECONDS) -> dict[str, Any]:
    """Claim and send due deliveries until none is due or the budget is spent."""
    return worker.drain(budget_seconds=budget_seconds).as_dict()


@periodic(every=timedelta(minutes=5))
@task
def evaluate_rules() -> dict[str, Any]:
    """Decide every decision point due now and queue what the rules send."""
    evaluation = decisions.evaluate_rules(timeutil.now())
    return {
        "decisions": sum(1 for d in evaluation.decisions if d.claimed),
        "actions": dict(evaluation.actions),
        "digests": evaluation.digests,
        "lost_claims": evaluation.lost_claims,
    }


@periodic(every=timedelta(minutes=5))
@task
def queue_appointment_reminders() -> dict[str, int]:
    """Queue the 24-hour and 1-hour reminders of live sessions that are due."""
    return {"sessions": appointment_reminders.due_appointment_reminders(timeutil.now())}


@periodic(every=timedelta(hours=1))
@task
def record_proximal_outcomes() -> dict[str, int]:
    """Record whether each patient was active in the 24 hours after a decision point."""
    return {"recorded": decisions.record_proximal_outcomes(timeutil.now())}
