"""Changing audit rows behind Trellis's back, the way an intruder with database access would."""

from __future__ import annotations

from typing import Any

from django.db import connection


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run raw SQL against the audit table; on PostgreSQL the append-only trigger is
    switched off around it (as a database owner could), so verification is what catches it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
