"""The distributed task queue: chosen by configuration, and a task reaches the Redis broker
only once the transaction that enqueued it commits. (Workers running these tasks for real,
killed mid-batch, are in trellis/nudges/tests/test_exactly_once.py.)"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from trellis.audit.tasks import verify_audit_chain
from trellis.core.celery_backend import RUN_TASK, CeleryBackend
from trellis.core.config import tasks_from_env
from trellis.core.testing import need_service, port_open


def test_the_database_queue_is_the_default() -> None:
    assert tasks_from_env("", broker_url="", visibility_timeout=600) == {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend"}
    }


def test_celery_takes_a_redis_or_rabbitmq_broker() -> None:
    for url in ("redis://queue.internal:6379/1", "amqp://trellis:secret@rabbit:5672//"):
        tasks = tasks_from_env("celery", broker_url=url, visibility_timeout=30)
        assert tasks["default"]["BACKEND"] == "trellis.core.celery_backend.CeleryBackend"
        assert tasks["default"]["OPTIONS"] == {"BROKER_URL": url, "VISIBILITY_TIMEOUT": 30}


def test_a_wrong_queue_or_a_missing_broker_is_refused_with_the_reason() -> None:
    with pytest.raises(RuntimeError, match="database or celery"):
        tasks_from_env("sqs", broker_url="", visibility_timeout=600)
    with pytest.raises(RuntimeError, match="TRELLIS_BROKER_URL"):
        tasks_from_env("celery", broker_url="", visibility_timeout=600)


def broker() -> str:
    base = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"redis://{base.netloc}/{8 + int(worker.removeprefix('gw') or 0) % 4}"


@pytest.mark.services
def test_a_task_is_published_when_its_transaction_commits(transactional_db: Any) -> None:
    import redis

    url = broker()
    parsed = urlparse(url)
    need_service(port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379), "Redis")
    client = redis.Redis.from_url(url)
    client.flushdb()
    queue = CeleryBackend("publish-test", {"OPTIONS": {"BROKER_URL": url}})
    with transaction.atomic():
        result = queue.enqueue(verify_audit_chain, [], {})
        assert client.llen("default") == 0  # not before the commit
    assert client.llen("default") == 1
    message = json.loads(client.lindex("default", 0) or b"{}")
    assert message["headers"]["task"] == RUN_TASK
    assert message["headers"]["id"] == result.id
    with transaction.atomic():
        queue.enqueue(verify_audit_chain, [], {})
        transaction.set_rollback(True)
    assert client.llen("default") == 1  # a rolled-back enqueue publishes nothing
    client.flushdb()


def test_the_worker_refuses_database_only_options_on_celery(settings: Any) -> None:
    settings.TASKS = tasks_from_env(
        "celery", broker_url="redis://127.0.0.1:6379/9", visibility_timeout=600
    )
    with pytest.raises(CommandError, match="only with the database queue"):
        call_command("worker", "--batch")
