"""`trellis worker`: runs queued background tasks until stopped.

On the database queue (the default) a thin layer over django-tasks-db's worker with
defaults for operating Trellis: every queue, no auto-reload (even in development), and the
options passed through (--queue-name, --exclude-queues, --interval, --batch, --max-tasks,
--worker-id). On the distributed queue (`TRELLIS_TASK_BACKEND=celery`) a Celery worker on
the configured broker, taking --queue-name, --worker-id and --concurrency.
Stopping it with SIGTERM lets the running task finish first, on either queue.
"""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import CommandError
from django.tasks import task_backends
from django.tasks.exceptions import InvalidTaskBackend
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from trellis.core.celery_backend import CeleryBackend


def valid_backend_name(value: str) -> str:
    try:
        backend = task_backends[value]
    except InvalidTaskBackend as error:
        raise ArgumentTypeError(error.args[0]) from error
    if not isinstance(backend, DatabaseBackend | CeleryBackend):
        raise ArgumentTypeError(f"Backend '{value}' is neither the database nor Celery")
    return value


class Command(DbWorkerCommand):
    help = "Run queued background tasks (reminders, exports, nightly jobs) until stopped."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        for action in parser._actions:
            if action.dest == "backend_name":
                action.type = valid_backend_name
        parser.add_argument(
            "--concurrency",
            type=int,
            default=1,
            help="Distributed queue only: tasks run at once in this process (threads).",
        )
        # Every queue by default, and never reload: a reload could cut a task short.
        parser.set_defaults(queue_name="*", reload=False)

    def handle(self, *args: Any, **options: Any) -> None:
        backend = task_backends[options["backend_name"]]
        if isinstance(backend, CeleryBackend):
            self.run_celery(backend, options)
            return
        options.pop("concurrency", None)
        super().handle(*args, **options)

    def run_celery(self, backend: CeleryBackend, options: dict[str, Any]) -> None:
        if options["batch"] or options["max_tasks"]:
            raise CommandError("--batch and --max-tasks work only with the database queue")
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be 1 or more")
        queues = sorted(backend.queues) if options["queue_name"] == "*" else []
        queues = queues or [q for q in options["queue_name"].split(",") if q]
        excluded = {q for q in options["exclude_queues"].split(",") if q}
        queues = [q for q in queues if q not in excluded]
        if not queues:
            raise CommandError("no queue left to work on")
        level = {0: "ERROR", 1: "INFO"}.get(options["verbosity"], "DEBUG")
        argv = [
            "worker",
            f"--hostname={options['worker_id']}@%h",
            f"--queues={','.join(queues)}",
            f"--loglevel={level}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        # One process: a signal to `trellis worker` reaches the code that runs the task.
        if options["concurrency"] == 1:
            argv.append("--pool=solo")
        else:
            argv += ["--pool=threads", f"--concurrency={options['concurrency']}"]
        backend.app.worker_main(argv=argv)
