"""Changing audit rows behind Trellis's back, the way an intruder with database access would."""

from __future__ import annotations

import io
from typing import Any

from django.core.management import call_command
from django.db import connection

AUDIT_TABLES = ("audit_auditevent", "audit_auditchainhead")


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run raw SQL against the audit tables; on PostgreSQL their append-only triggers are
    switched off around it (as a table owner could), so verification is what catches it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def run_audit(*args: str) -> tuple[int, str, str]:
    """`trellis audit ARGS` in this process: its exit status, output and error output."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()
