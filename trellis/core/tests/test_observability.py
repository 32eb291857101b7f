"""Request ids and the JSON access log, Prometheus metrics, liveness and readiness, the
body size limit, and a clear 503 when the database is out of reach (docs/operations.md)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from trellis.core import metrics, requestid

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the root logger writes with Trellis's own JSON formatter (settings.LOGGING)."""
    config = dict(django_settings.LOGGING["formatters"]["json"])
    config.pop("()")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(**config))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_answer_carries_a_request_id_and_a_sane_incoming_one_is_kept(db):
    client = Client()
    made = client.get("/livez")["X-Request-ID"]
    assert requestid.SANE_ID.fullmatch(made)
    assert client.get("/livez")["X-Request-ID"] != made
    kept = client.get("/livez", HTTP_X_REQUEST_ID="proxy-7f3a9c21")
    assert kept["X-Request-ID"] == "proxy-7f3a9c21"
    for insane in ["a b c d e f g h", "x" * 200, "short", "<script>alert(1)</script>"]:
        answer = client.get("/livez", HTTP_X_REQUEST_ID=insane)["X-Request-ID"]
        assert answer != insane and requestid.SANE_ID.fullmatch(answer)


def test_access_line_is_json_with_route_status_duration_and_id_never_the_query(db, json_log):
    response = Client().get(
        "/accounts/login/?next=/clinic/&email=alex.patient@example.org",
        HTTP_X_REQUEST_ID="req-access-0001",
    )
    lines = _lines(json_log)
    access = [line for line in lines if line.get("logger") == "trellis.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "req-access-0001"
    assert line["method"] == "GET"
    assert line["route"] == "accounts:login"
    assert line["status"] == response.status_code
    assert isinstance(line["duration_ms"], float)
    assert "alex.patient" not in json_log.getvalue()
    assert "next=" not in json_log.getvalue()


def test_every_log_line_of_a_request_carries_its_id(db, json_log):
    # A 404 is logged by Django itself ("Not Found: ..."), after the middleware returned.
    Client().get("/no-such-page", HTTP_X_REQUEST_ID="req-notfound-01")
    lines = _lines(json_log)
    assert {line["logger"] for line in lines} >= {"trellis.access", "django.request"}
    assert all(line.get("request_id") == "req-notfound-01" for line in lines)


def test_livez_answers_without_the_database_and_readyz_names_the_parts(db):
    live = Client().get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "task_queue": "ok"}
    assert ready["Cache-Control"] == "no-store"


def test_readyz_is_503_naming_the_task_queue_when_its_table_is_gone(db):
    from django_tasks_db.models import DBTaskResult

    table = DBTaskResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_moved_away")
    ready = Client().get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "ok", "task_queue": "down"}


def test_metrics_do_not_exist_without_a_token_setting(db, settings):
    settings.TRELLIS_METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(db, settings):
    settings.TRELLIS_METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403


def test_metrics_show_latency_by_route_queue_deliveries_alerts(db, settings):
    from trellis.audit.tasks import verify_audit_chain

    settings.TRELLIS_METRICS_TOKEN = TOKEN
    verify_audit_chain.enqueue()
    client = Client()
    client.get("/livez")
    client.get("/no-such-page")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert (
        'trellis_http_request_duration_seconds_count{method="GET",route="core:livez",status="2xx"}'
        in text
    )
    assert 'route="unmatched",status="4xx"' in text
    assert "/no-such-page" not in text
    assert "trellis_task_queue_ready 1.0" in text
    assert "trellis_task_queue_oldest_ready_age_seconds" in text
    assert 'trellis_alerts_open{severity="urgent"} 0.0' in text
    assert "# TYPE trellis_deliveries_last_24h gauge" in text
    for name in metrics.registered_collectors():
        assert f'trellis_metrics_collector_up{{collector="{name}"}} 1.0' in text
    assert {"task_queue", "deliveries", "alerts"} <= set(metrics.registered_collectors())


def test_a_failing_collector_is_reported_and_the_rest_still_arrive(db, settings):
    settings.TRELLIS_METRICS_TOKEN = TOKEN

    def broken(now: Any) -> Iterator[Any]:
        raise RuntimeError("unreadable")
        yield

    metrics.register_collector("zz_broken", broken)
    try:
        text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    finally:
        metrics._readers.pop("zz_broken")
    assert 'trellis_metrics_collector_up{collector="zz_broken"} 0.0' in text
    assert 'trellis_metrics_collector_up{collector="task_queue"} 1.0' in text


@pytest.mark.parametrize(
    ("path", "content_type", "check"),
    [
        ("/api/v1/me", "application/json", lambda r: r.json()["detail"]),
        (
            "/fhir/R4/Patient",
            "application/fhir+json",
            lambda r: (
                r.json()["issue"][0]["diagnostics"]
                if r.json()["resourceType"] == "OperationOutcome"
                else ""
            ),
        ),
        ("/accounts/login/", "text/html", lambda r: r.content.decode()),
    ],
)
def test_a_body_over_the_limit_is_413_naming_the_limit(db, settings, path, content_type, check):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client(raise_request_exception=False).post(
        path, data=b"x" * 1001, content_type="application/octet-stream"
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith(content_type)
    assert "1000 bytes" in check(response)


def test_a_body_at_the_limit_goes_through(db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post("/api/v1/me", data=b"x" * 1000, content_type="application/json")
    assert response.status_code != 413


@pytest.fixture
def database_out_of_reach(transactional_db: Any, tmp_path: Any) -> Iterator[None]:
    """The default connection really fails to connect (a server port nobody listens on, or
    a SQLite file in a folder that does not exist) until the fixture ends."""
    from trellis.core.testing import free_port

    original = dict(connection.settings_dict)
    connection.close()
    # SQLite's in-memory test database is never closed (it would vanish): set it aside.
    kept = connection.connection
    connection.connection = None
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    else:
        connection.settings_dict.update(NAME=str(tmp_path / "missing" / "db.sqlite3"))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
        connection.connection = kept


@pytest.mark.parametrize(
    ("path", "headers", "content_type"),
    [
        ("/api/v1/me", {"HTTP_AUTHORIZATION": "Bearer trl_" + "x" * 43}, "application/json"),
        ("/clinic/caseload/", {"HTTP_COOKIE": "sessionid=abc123abc123"}, "text/html"),
    ],
)
def test_database_out_of_reach_is_503_with_retry_after_and_a_clear_message(
    database_out_of_reach, path, headers, content_type
):
    client = Client(raise_request_exception=False)
    response = client.get(path, **headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(content_type)
    assert b"cannot reach its database" in response.content
    assert client.get("/livez").status_code == 200  # liveness never asks the database
    assert client.get("/readyz").json()["database"] == "down"
