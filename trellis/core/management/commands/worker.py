"""`trellis worker`: runs queued background tasks until stopped.

A thin layer over django-tasks-db's worker with defaults for operating Trellis:
every queue, no auto-reload (even in development), and the options passed through
(--queue-name, --exclude-queues, --interval, --batch, --max-tasks, --worker-id).
Stopping it with SIGTERM lets the running task finish first.
"""

from __future__ import annotations

from argparse import ArgumentParser

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(DbWorkerCommand):
    help = "Run queued background tasks (reminders, exports, nightly jobs) until stopped."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # Every queue by default, and never reload: a reload could cut a task short.
        parser.set_defaults(queue_name="*", reload=False)
