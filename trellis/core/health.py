"""Health of the parts Trellis cannot work without: the database and the task queue.

Used by GET /healthz for load balancers and monitoring. Reports no patient data and
no configuration, only whether each part answers and how far behind the queue is.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def database_status(connection: BaseDatabaseWrapper) -> dict[str, Any]:
    """Whether the database answers a trivial query, and how quickly."""
    started = time.monotonic()
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok", "vendor": connection.vendor, "latency_ms": _elapsed_ms(started)}


def task_queue_status(connection: BaseDatabaseWrapper, *, now: datetime) -> dict[str, Any]:
    """Whether the database task queue's table is reachable; how many tasks wait, and
    how long the oldest task that is ready to run has been waiting."""
    from django_tasks_db.models import DBTaskResult

    started = time.monotonic()
    try:
        with transaction.atomic(using=connection.alias):
            results = DBTaskResult.objects.using(connection.alias)
            pending = results.filter(status="READY").count()
            ready = results.ready()
            oldest = ready.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
            ready_count = ready.count()
            running = results.filter(status="RUNNING").count()
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {
        "status": "ok",
        "pending": pending,
        "ready": ready_count,
        "running": running,
        "oldest_ready_age_s": round((now - oldest).total_seconds(), 1) if oldest else None,
        "latency_ms": _elapsed_ms(started),
    }


def report(*, now: datetime, using: str = DEFAULT_DB_ALIAS) -> tuple[dict[str, Any], bool]:
    """The health report, and whether every part is up."""
    connection = connections[using]
    database = database_status(connection)
    queue = task_queue_status(connection, now=now)
    healthy = database["status"] == "ok" and queue["status"] == "ok"
    return {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "task_queue": queue,
    }, healthy
