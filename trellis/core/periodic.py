"""Periodic jobs: what the clock enqueues, and how often.

An app registers a background task to run every so often:

    @periodic(every=timedelta(minutes=5))
    @task
    def send_due_reminders() -> None: ...

or `register(send_due_reminders, every=timedelta(minutes=5))`. Each tick, the clock
(`trellis clock`) works out the period each job is in and claims it by inserting a
PeriodicRun row; the unique constraint on (job, period) means only one clock wins,
so any number of clocks can run for resilience and each job still runs once per
period. The claim and the enqueue share one transaction: with the database task
queue, a crash between them leaves neither.

A duty is lighter and more frequent: a function every clock calls itself, every few
seconds, without the queue (the audit sealer is one). Duties must be safe to run from
several clocks at once:

    register_duty(seal_pending, every=timedelta(seconds=2), name="audit.seal")
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.tasks import Task
from django.utils.module_loading import autodiscover_modules

from trellis.core import timeutil
from trellis.core.models import PeriodicRun

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=Task[Any, Any])


@dataclass(frozen=True)
class PeriodicJob:
    """A task the clock enqueues once in every period of length `every`."""

    name: str
    task: Task[Any, Any]
    every: timedelta

    def period_start(self, now: datetime) -> datetime:
        return timeutil.floor_to_period(now, self.every)


@dataclass(frozen=True)
class TickOutcome:
    job: str
    period_start: datetime
    enqueued: bool
    task_result_id: str = ""


_registry: dict[str, PeriodicJob] = {}


@dataclass(frozen=True)
class Duty:
    """A function every clock calls itself, every `every` (safe to run from several)."""

    name: str
    run: Callable[[], object]
    every: timedelta


_duties: dict[str, Duty] = {}


def register_duty(run: Callable[[], object], *, every: timedelta, name: str) -> Duty:
    """Have every clock call `run` every `every` (at least a tenth of a second)."""
    if every.total_seconds() < 0.1:
        raise ValueError("a duty must run at most ten times a second")
    duty = Duty(name=name, run=run, every=every)
    _duties[name] = duty
    return duty


def duties() -> list[Duty]:
    """Every registered duty (apps register them when they are ready)."""
    return sorted(_duties.values(), key=lambda d: d.name)


def perform(duty: Duty) -> bool:
    """Run one duty; an error is logged and does not stop the clock."""
    try:
        duty.run()
    except Exception:
        logger.exception("clock duty %s failed", duty.name)
        return False
    return True


def register(task: Task[Any, Any], *, every: timedelta, name: str | None = None) -> PeriodicJob:
    """Run `task` (a django.tasks task taking no arguments) once per `every`."""
    if not isinstance(task, Task):
        raise TypeError("only django.tasks tasks (decorated with @task) can be periodic")
    if every.total_seconds() < 1:
        raise ValueError("a periodic job must run at most once a second")
    job = PeriodicJob(name=name or task.module_path, task=task, every=every)
    existing = _registry.get(job.name)
    if existing is not None and existing.every != every:
        raise ValueError(f"periodic job {job.name} is already registered with another period")
    _registry[job.name] = job
    return job


def periodic(*, every: timedelta, name: str | None = None) -> Callable[[T], T]:
    """Decorator form of `register`; put it above `@task`."""

    def decorate(task: T) -> T:
        register(task, every=every, name=name)
        return task

    return decorate


def unregister(name: str) -> None:
    _registry.pop(name, None)


def jobs() -> list[PeriodicJob]:
    """Every registered job, after importing each app's tasks module."""
    autodiscover_modules("tasks")
    return sorted(_registry.values(), key=lambda j: j.name)


def claim_and_enqueue(job: PeriodicJob, now: datetime) -> TickOutcome:
    """Claim this job's current period and enqueue it; False if another clock was first."""
    start = job.period_start(now)
    try:
        with transaction.atomic():
            run = PeriodicRun.objects.create(job=job.name, period_start=start)
            result = job.task.enqueue()
            run.task_result_id = str(result.id)
            run.save(update_fields=["task_result_id"])
    except IntegrityError:
        return TickOutcome(job.name, start, enqueued=False)
    logger.info("enqueued periodic job %s for period starting %s", job.name, start.isoformat())
    return TickOutcome(job.name, start, enqueued=True, task_result_id=str(result.id))


def tick(now: datetime, *, only: list[PeriodicJob] | None = None) -> list[TickOutcome]:
    """One pass of the clock: claim and enqueue every job whose current period is unclaimed."""
    outcomes = []
    for job in only if only is not None else jobs():
        try:
            outcomes.append(claim_and_enqueue(job, now))
        except Exception:
            # One broken job must not stop the others from being scheduled.
            logger.exception("could not enqueue periodic job %s", job.name)
    return outcomes
