"""The read replica: reports and exports read from the `replica` connection; every write,
and every read inside a transaction on the primary, stays on `default`.

The test settings configure the replica as a second connection to the test database
(trellis/settings.py, `TEST: {"MIRROR": "default"}`), so these tests see which connection
each statement went through. They are transactional: in a test wrapped in a transaction,
the router keeps every read on the primary, as it does for any open transaction.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment
from trellis.core.dbrouter import REPLICA, ReplicaRouter, read_alias, reading_from_replica
from trellis.engagement.models import EngagementEvent
from trellis.insights.reports import catalog
from trellis.nudges.tests.decision_helpers import enroll_persona

# A statement that writes, including a `WITH` whose parts write (the audit row and its
# place in the sealer's queue are one such statement on PostgreSQL).
WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE)\b"
    r"|^\s*WITH\b.*\b(INSERT|UPDATE|DELETE)\b",
    re.IGNORECASE | re.DOTALL,
)

ENROLLMENTS = Enrollment._meta.db_table
EVENTS = EngagementEvent._meta.db_table
AUDIT = AuditEvent._meta.db_table

both = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries]


def writes(captured: CaptureQueriesContext) -> list[str]:
    return [sql for sql in statements(captured) if WRITE.match(sql)]


def test_the_test_settings_configure_a_replica_mirroring_default() -> None:
    assert connections.settings[REPLICA]["TEST"]["MIRROR"] == DEFAULT_DB_ALIAS


def test_writes_and_migrations_never_go_to_the_replica() -> None:
    router = ReplicaRouter()
    read_there = Enrollment()
    read_there._state.db = REPLICA
    with reading_from_replica():
        assert router.db_for_write(Enrollment, instance=read_there) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "care") is True
    assert router.allow_migrate(REPLICA, "care") is False


@both
def test_only_reads_inside_the_block_and_outside_a_transaction_use_the_replica() -> None:
    assert read_alias() == DEFAULT_DB_ALIAS
    with reading_from_replica():
        assert read_alias() == REPLICA
        with transaction.atomic():
            # A transaction on the primary may have written: read what it wrote.
            assert read_alias() == DEFAULT_DB_ALIAS
            with CaptureQueriesContext(connections[REPLICA]) as replica:
                Enrollment.objects.count()
            assert statements(replica) == []
        assert read_alias() == REPLICA
    assert read_alias() == DEFAULT_DB_ALIAS


@both
def test_a_report_reads_from_the_replica_and_its_audit_row_goes_to_default(
    cast: Any, client_for: Any
) -> None:
    enroll_persona(cast, "patient_alex")
    client = client_for("supervisor_ruth")
    slug = cast.clinics["riverside"].slug
    with (
        CaptureQueriesContext(connections[REPLICA]) as replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as default,
    ):
        page = client.get(reverse("insights_reports:report", args=[slug, catalog.ENGAGEMENT]))
        download = client.get(reverse("insights_reports:csv", args=[slug, catalog.ENGAGEMENT]))
    assert page.status_code == 200, page.content[:500]
    assert download.status_code == 200
    assert any(ENROLLMENTS in sql for sql in statements(replica)), statements(replica)
    assert writes(replica) == []
    # The session, the access check and the CSV's audit row use the primary.
    assert any(AUDIT in sql for sql in writes(default)), writes(default)
    assert not any(ENROLLMENTS in sql for sql in statements(default) if "JOIN" in sql)


@both
def test_the_event_log_export_reads_from_the_replica(cast: Any, tmp_path: Path) -> None:
    enroll_persona(cast, "patient_alex")
    with (
        CaptureQueriesContext(connections[REPLICA]) as replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as default,
    ):
        call_command("events", "export", "--out", str(tmp_path), stdout=io.StringIO())
    assert any(EVENTS in sql for sql in statements(replica))
    assert any(ENROLLMENTS in sql for sql in statements(replica))
    assert writes(replica) == []
    assert not any(EVENTS in sql for sql in statements(default))
    assert any(AUDIT in sql for sql in writes(default))
    # The rows the replica returned reached the file.
    assert (tmp_path / "enrollments.csv").read_text().count("\n") > 1
