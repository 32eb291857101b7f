"""The database stops under a running `trellis serve` and starts again: meanwhile requests
are answered 503 with Retry-After and a clear message (never a 500), and once it is back the
same process serves again without a restart. A PostgreSQL server of the test's own is
stopped and started (trellis/core/tests/private_postgres.py). Recovery time, with and
without psycopg's pool, is measured by bench/db_outage.py."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from email.message import Message

import pytest
from django.db import connection

from trellis.core.testing import need_postgres, need_service
from trellis.core.tests.private_postgres import PrivatePostgres, postgres_bin, serve, stop_server

pytestmark = [pytest.mark.slow, pytest.mark.services]

# An API token of the right form that no clinic holds: the server must look it up.
API_ME = ("/api/v1/me", {"Authorization": "Bearer trl_" + "x" * 43})
# A session cookie nobody holds: the server must read the session table.
CASELOAD = ("/clinic/caseload/", {"Cookie": "sessionid=" + "a" * 32})


def _get(base: str, path: str, headers: dict[str, str]) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(f"{base}{path}", headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture
def private_postgres(db):
    need_postgres()  # the schema is copied from the test database
    bin_dir = postgres_bin()
    need_service(bin_dir is not None, "PostgreSQL's server tools (initdb, pg_ctl)")
    assert bin_dir is not None
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.start()
        name = f"trellis_down_{uuid.uuid4().hex[:8]}"
        cluster.create_database(name)
        settings = connection.settings_dict
        source = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
        cluster.load_schema_from(source, name)
        yield cluster, cluster.url(name)
    finally:
        cluster.remove()


def test_database_stopped_and_started_under_a_running_server(private_postgres, tmp_path):
    cluster, url = private_postgres
    # Django's own connections. With psycopg's pool (TRELLIS_DB_POOL=1) each request waits
    # for the pool's timeout (10 s) before its 503, too long for the suite:
    # bench/db_outage.py runs both and prints how long each takes to recover.
    servers = [serve(url, tmp_path / "plain", pool=False)]
    try:
        for _, base in servers:
            assert _get(base, *API_ME)[0] == 401  # the token was looked up, and is unknown
            assert _get(base, *CASELOAD)[0] == 302  # no such session: off to sign in
        cluster.stop()
        for _, base in servers:
            status, headers, body = _get(base, *API_ME)
            assert status == 503, body
            assert headers["Retry-After"] == "5"
            assert json.loads(body)["detail"].startswith("Trellis cannot reach its database")
            status, headers, body = _get(base, *CASELOAD)
            assert status == 503
            assert headers["Content-Type"].startswith("text/html")
            assert b"cannot reach its database" in body
            assert _get(base, "/livez", {})[0] == 200
            ready = _get(base, "/readyz", {})
            assert ready[0] == 503 and json.loads(ready[2])["database"] == "down"
        cluster.start()
        for _, base in servers:
            deadline = time.monotonic() + 15
            status = _get(base, *API_ME)[0]
            while status == 503 and time.monotonic() < deadline:
                time.sleep(0.1)
                status = _get(base, *API_ME)[0]
            assert status == 401  # served again by the same process
            assert _get(base, *CASELOAD)[0] == 302
            assert _get(base, "/readyz", {})[0] == 200
    finally:
        for server, _ in servers:
            stop_server(server)


def test_a_pooled_server_renews_its_pool_as_soon_as_the_database_is_back(
    private_postgres, tmp_path
):
    """psycopg's pool waits longer and longer between its own attempts to reconnect; the
    watcher (trellis.core.dbpool) renews the pool the moment the database answers."""
    cluster, url = private_postgres
    log = tmp_path / "serve.log"
    server, base = serve(url, tmp_path / "pool", pool=True, log=log)
    try:
        assert _get(base, *API_ME)[0] == 401
        cluster.stop()
        status, headers, body = _get(base, *API_ME)  # its pooled connection is broken
        assert status == 503, body
        assert headers["Retry-After"] == "5"
        cluster.start()
        deadline = time.monotonic() + 30
        status = 503
        while status == 503 and time.monotonic() < deadline:
            time.sleep(0.1)
            status = _get(base, *API_ME)[0]
        assert status == 401  # served again by the same process
        assert "database default is back: its connection pool is renewed" in log.read_text()
    finally:
        stop_server(server)
