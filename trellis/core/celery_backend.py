"""django.tasks on Celery: the distributed task backend, for when one machine is not enough.

The embedded default is django-tasks-db (the task queue is a table of the database). With
`TRELLIS_TASK_BACKEND=celery` tasks travel instead through a Celery broker (Redis or
RabbitMQ, `TRELLIS_BROKER_URL`), and any number of `trellis worker` processes on any number
of machines take them. docs/decisions/0002-distributed-queue.md says why Celery and why this
small backend of our own rather than a package.

How it maps django.tasks onto Celery:

- One Celery task, `trellis.run_task`, runs every django.tasks task: the message carries
  the task's module path and its JSON arguments, and the worker imports the task by that
  path. No per-task registration, so a worker runs whatever the code it was started with
  defines.
- A task is published when the surrounding database transaction commits
  (`transaction.on_commit`): a worker never sees a task whose rows are not visible yet,
  and the clock's claim of a period and its enqueue stand or fall together, as with the
  database queue.
- Messages are acknowledged after the task ran (`acks_late`) and given back to the broker
  when the worker process dies (`reject_on_worker_lost`): a worker killed mid-task loses
  no task; another worker runs it again, so tasks must be idempotent (ours are: a periodic
  job works from what the database says is due).
- Results are not stored: `supports_get_result` is False, as the clock and the nudges
  worker never read a task's result back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from django.db import transaction
from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.signals import task_enqueued
from django.utils.crypto import get_random_string
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

RUN_TASK = "trellis.run_task"

_apps: dict[str, Celery] = {}


def run_task(module_path: str, args: list[Any], kwargs: dict[str, Any], result_id: str) -> Any:
    """Run the django.tasks task at `module_path` (what a worker does with one message)."""
    task = import_string(module_path)
    if not isinstance(task, Task):
        raise TypeError(f"{module_path} is not a django.tasks task")
    if task.takes_context:
        now = datetime.now(UTC)
        result: TaskResult[Any, Any] = TaskResult(
            task=task,
            id=result_id,
            status=TaskResultStatus.RUNNING,
            enqueued_at=None,
            started_at=now,
            finished_at=None,
            last_attempted_at=now,
            args=args,
            kwargs=kwargs,
            backend=task.backend,
            errors=[],
            worker_ids=[],
        )
        return normalize_json(task.call(TaskContext(task_result=result), *args, **kwargs))
    return normalize_json(task.call(*args, **kwargs))


def build_app(alias: str, options: dict[str, Any]) -> Celery:
    """The Celery application of one task backend (one per alias and process)."""
    app = _apps.get(alias)
    if app is not None:
        return app
    broker_url = options.get("BROKER_URL") or "redis://127.0.0.1:6379/0"
    app = Celery(f"trellis-{alias}", broker=broker_url, set_as_current=False)
    transport_options: dict[str, Any] = {}
    if broker_url.startswith(("redis://", "rediss://")):
        # A message a dead worker held goes back to the queue after this many seconds.
        transport_options["visibility_timeout"] = int(options.get("VISIBILITY_TIMEOUT", 600))
    app.conf.update(
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport_options,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        task_default_queue="default",
        enable_utc=True,
    )
    app.task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True)(run_task)
    _apps[alias] = app
    return app


class CeleryBackend(BaseTaskBackend):
    """A django.tasks backend that sends tasks through a Celery broker (Redis or RabbitMQ).

    OPTIONS: BROKER_URL (redis://..., amqp://...) and, for Redis, VISIBILITY_TIMEOUT
    (seconds before a message held by a dead worker is handed out again).
    """

    supports_defer = True
    supports_async_task = True
    supports_priority = False
    supports_get_result = False

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.app = build_app(alias, self.options)

    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any, Any]:
        self.validate_task(task)
        result: TaskResult[Any, Any] = TaskResult(
            task=task,
            id=get_random_string(32),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=list(args),
            kwargs=dict(kwargs),
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        message_args = [task.module_path, result.args, result.kwargs, result.id]
        send_options: dict[str, Any] = {"task_id": result.id, "queue": task.queue_name}
        if task.run_after is not None:
            send_options["eta"] = task.run_after

        def publish() -> None:
            self.app.send_task(RUN_TASK, args=message_args, **send_options)
            logger.debug("published %s as %s", task.module_path, result.id)

        # Published once the caller's transaction commits (at once outside a transaction).
        transaction.on_commit(publish)
        object.__setattr__(result, "enqueued_at", datetime.now(UTC))
        task_enqueued.send(type(self), task_result=result)
        return result
