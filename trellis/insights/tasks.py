"""Background jobs of the insights app."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.core import timeutil
from trellis.core.periodic import periodic
from trellis.insights import rules, scoring


@periodic(every=timedelta(hours=1))
@task
def evaluate_alert_rules() -> dict[str, int]:
    """Every hour: raise an alert for each new inactivity, unanswered message, reliable
    deterioration and lack of improvement, and close those whose condition has ended."""
    result = rules.evaluate(timeutil.now())
    return {**result.raised, "resolved": result.resolved}


@periodic(every=timedelta(days=1))
@task
def score_dropout_risk() -> dict[str, int]:
    """Every night: score every active, consenting enrollment of every clinic with its
    model (or note that only the rules apply) and raise the night's risk alerts."""
    return scoring.score_all(now=timeutil.now())


@periodic(every=timedelta(days=1))
@task
def record_risk_outcomes() -> int:
    """Every day: on each score whose 14 days have passed, whether the patient did anything."""
    return scoring.record_outcomes(now=timeutil.now())


@periodic(every=timedelta(days=30))
@task
def check_risk_models() -> int:
    """Every 30 days: does each clinic's model still fit what happened?"""
    return scoring.check_all(now=timeutil.now())
