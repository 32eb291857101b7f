"""Changing audit rows behind Trellis's back, the way an intruder with database access would."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from django.db import connection

AUDIT_TABLES = ("audit_auditevent", "audit_auditchainhead", "audit_auditlink")


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run raw SQL against the audit tables; on PostgreSQL their append-only triggers are
    switched off around it (as a table owner could), so verification is what catches it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The links' foreign keys are checked at commit; check them now, so the tables
            # hold no pending trigger events and can be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def delete_events(where: str, params: list[Any]) -> None:
    """Remove events (`where` is a test's own literal condition on their `id`) with their
    links and places in the queue, as an intruder must: the links' foreign keys hold on
    even with the triggers off."""
    chosen = f"SELECT id FROM audit_auditevent WHERE {where}"  # noqa: S608 (a test's literal)
    tamper(f"DELETE FROM audit_auditlink WHERE event_id IN ({chosen})", params)  # noqa: S608
    tamper(f"DELETE FROM audit_auditpending WHERE event_id IN ({chosen})", params)  # noqa: S608
    tamper(f"DELETE FROM audit_auditevent WHERE {where}", params)  # noqa: S608


def run_audit(*args: str) -> tuple[int, str, str]:
    """`trellis audit ARGS` in this process: its exit status, output and error output."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()
