import json

import pytest
from django.db import connection, connections
from django.db.utils import load_backend
from django.test import Client
from django.urls import reverse

from trellis.core import health, timeutil


def test_healthz_reports_database_and_queue_up_without_signing_in(db):
    response = Client().get(reverse("core:healthz"))
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["task_queue"]["status"] == "ok"
    assert body["task_queue"]["ready"] == 0
    assert body["task_queue"]["oldest_ready_age_s"] is None
    assert response["Cache-Control"] == "no-store"


def test_healthz_counts_waiting_tasks_and_the_age_of_the_oldest(db):
    from trellis.audit.tasks import verify_audit_chain

    verify_audit_chain.enqueue()
    verify_audit_chain.enqueue()
    body = json.loads(Client().get(reverse("core:healthz")).content)
    assert body["task_queue"]["pending"] == 2
    assert body["task_queue"]["ready"] == 2
    assert body["task_queue"]["oldest_ready_age_s"] >= 0


def test_healthz_is_503_when_the_task_queue_table_is_unreachable(db):
    # Really break the queue: rename its table inside the test's transaction
    # (rolled back afterwards on both SQLite and PostgreSQL).
    from django_tasks_db.models import DBTaskResult

    table = DBTaskResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_moved_away")
    response = Client().get(reverse("core:healthz"))
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["task_queue"]["status"] == "down"
    assert response["Cache-Control"] == "no-store"


def test_health_report_is_degraded_when_the_database_cannot_be_reached(tmp_path):
    # A real connection to a database file in a directory that does not exist.
    settings_dict = {**connections.settings["default"]}
    settings_dict.update(
        ENGINE="django.db.backends.sqlite3",
        NAME=str(tmp_path / "missing-dir" / "trellis.sqlite3"),
        OPTIONS={},
    )
    broken = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "broken")
    try:
        assert health.database_status(broken)["status"] == "down"
        queue = health.task_queue_status(broken, now=timeutil.now())
        assert queue["status"] == "down"
    finally:
        broken.close()


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(db, method):
    response = getattr(Client(), method)(reverse("core:healthz"))
    assert response.status_code == 405
