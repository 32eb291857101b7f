"""Fixtures shared by every test: the demo personas, signed-in clients, a real SMTP server."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from trellis.core.testing import RowSnapshot, SmtpServer, sign_in, smtp_server, smtp_settings
from trellis.demo import personas

# Property tests share two cores with everything else running: how fast examples are drawn
# says nothing about the code, so neither a slow draw nor a slow example fails a test.
hypothesis_settings.register_profile(
    "trellis", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("trellis")


@pytest.fixture(autouse=True)
def audit_anchor_file(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test anchors the audit trail to a file of its own: verification checks the
    trail against every anchor it reads, and each test has a trail of its own."""
    path = tmp_path_factory.getbasetemp() / f"audit-anchors-{uuid.uuid4().hex}.jsonl"
    settings.TRELLIS_AUDIT_ANCHOR_FILE = str(path)
    return path


# The cast each test process built first, and the rows that build added, by database.
_CASTS: dict[str, tuple[personas.Cast, RowSnapshot | None]] = {}


@pytest.fixture
def cast(db: Any, request: pytest.FixtureRequest) -> personas.Cast:
    """Both demo clinics and every persona, built through the services.

    Built once in each test process; later tests get the same rows put back (one INSERT
    a table, trellis.core.testing.RowSnapshot) and their own copy of the objects. A test
    whose transaction really commits builds its own: its end empties the tables."""
    if _commits(request):
        return personas.build()
    key = f"{connection.vendor}:{connection.settings_dict['NAME']}"
    if key not in _CASTS:
        _CASTS[key] = RowSnapshot.record(personas.build)
        return copy.deepcopy(_CASTS[key][0])
    built, snapshot = _CASTS[key]
    if snapshot is None or not snapshot.restore():
        return personas.build()
    return copy.deepcopy(built)


def _commits(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    fixtures = request.fixturenames
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )


@pytest.fixture
def client_for(cast: personas.Cast) -> Any:
    """client_for("therapist_maria") -> a test client signed in (and MFA-verified) as her."""

    def make(key: str, *, verified: bool = True) -> Client:
        return sign_in(Client(), cast[key], verified=verified)

    return make


@pytest.fixture
def smtp(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on localhost that Django's SMTP backend delivers to."""
    with smtp_server() as server:
        for name, value in smtp_settings(server).items():
            setattr(settings, name, value)
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A live server answers every kind of request, reports and exports among them, and
    those read from the `replica` connection (trellis.core.dbrouter): a test that serves
    pages from a live server may use every configured database. Long tests run first."""
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db(transaction=True, databases="__all__"), False)

    # Long tests (browser tests, and those marked slow) first, the many short ones after:
    # with several test processes (`-n`), the last minutes are then short tests shared
    # between the processes rather than one long test keeping one busy while the others wait.
    # pytest-django has already ordered the tests as Django does (database tests, then
    # transactional ones, then those without a database); a transactional test empties the
    # tables, so only long tests without a database move ahead of the others.
    def order(item: pytest.Item) -> tuple[int, ...]:
        long = bool(item.get_closest_marker("slow") or item.get_closest_marker("browser"))
        fixtures = getattr(item, "fixturenames", ())
        marker = item.get_closest_marker("django_db")
        transactional = bool(
            (marker and marker.kwargs.get("transaction"))
            or "transactional_db" in fixtures
            or "live_server" in fixtures
        )
        uses_db = bool(marker) or transactional or "db" in fixtures
        if long and not uses_db:
            return (0,)
        return (1, 1 if transactional else 0 if uses_db else 2, 0 if long else 1)

    items.sort(key=order)
