"""Dumping and restoring the database itself: PostgreSQL through its own client programs,
SQLite through sqlite3's backup API.

PostgreSQL's dump runs inside a snapshot this process exported (REPEATABLE READ), so the
manifest's row counts, migrations and key ids describe exactly the rows in the dump, while
the clinic goes on writing. SQLite's copy is taken page by page under a read lock by the
backup API, which sees a consistent database even in WAL mode; the manifest is read from
the copy.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from trellis.core.backup.archive import BackupError
from trellis.core.backup.keys import Query

VENDORS = ("postgresql", "sqlite")
PG_DIRS = "/usr/lib/postgresql/*/bin"


def find_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    candidates = sorted(glob.glob(f"{PG_DIRS}/{name}"), key=version, reverse=True)
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise BackupError(
        f"{name} was not found on PATH or in {PG_DIRS}: install PostgreSQL's client programs "
        "of the server's major version or newer (Debian: postgresql-client-15)"
    )


def pg_environment(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq's variables for the database Django connects to, so no password is on a
    command line that other users of the machine could list."""
    env = dict(os.environ)
    options = settings_dict.get("OPTIONS") or {}
    pairs = {
        "PGDATABASE": settings_dict.get("NAME"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGSSLMODE": options.get("sslmode"),
    }
    env.update({k: str(v) for k, v in pairs.items() if v})
    return env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' / '.join(detail[-3:]) or f'exit {done.returncode}'}")


def django_query(connection: BaseDatabaseWrapper) -> Query:
    def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    return query


def sqlite_query(db: sqlite3.Connection) -> Query:
    def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(db.execute(sql.replace("%s", "?"), tuple(params)).fetchall())

    return query


def all_tables(query: Query, vendor: str) -> list[str]:
    if vendor == "postgresql":
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = (
            "SELECT name FROM sqlite_master"
            " WHERE type = 'table' AND substr(name, 1, 7) != 'sqlite_'"
        )
    return sorted(row[0] for row in query(sql, []))


def row_counts(query: Query, vendor: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in all_tables(query, vendor):
        sql = f'SELECT COUNT(*) FROM "{table}"'  # noqa: S608 (a table the catalog names)
        counts[table] = int(query(sql, [])[0][0])
    return counts


def migrations(query: Query) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in query("SELECT app, name FROM django_migrations ORDER BY id", []):
        applied.setdefault(app, []).append(name)
    return applied


def begin_snapshot(connection: BaseDatabaseWrapper) -> str:
    """In the open transaction: REPEATABLE READ, and the snapshot's id for pg_dump."""
    query = django_query(connection)
    query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", [])
    return str(query("SELECT pg_export_snapshot()", [])[0][0])


def dump_postgresql(connection: BaseDatabaseWrapper, snapshot: str, dest: Path) -> None:
    argv = [find_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={dest}"]
    _run(argv, pg_environment(connection.settings_dict), "pg_dump")


def restore_postgresql(connection: BaseDatabaseWrapper, dump: Path) -> None:
    """Load the dump in one transaction: a restore that fails leaves the database as it was.
    --clean --if-exists also replaces the functions behind the audit table's triggers."""
    argv = [
        find_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={connection.settings_dict['NAME']}",
        str(dump),
    ]
    _run(argv, pg_environment(connection.settings_dict), "pg_restore")


def dump_sqlite(connection: BaseDatabaseWrapper, dest: Path) -> None:
    connection.ensure_connection()
    with sqlite3.connect(dest) as copy:
        connection.connection.backup(copy)
    copy.close()
    os.chmod(dest, 0o600)


def restore_sqlite(connection: BaseDatabaseWrapper, copy: Path) -> None:
    """Write the copy into the configured database through the backup API, which replaces
    its whole content in one step (and works for a file in WAL mode, or in memory)."""
    connection.ensure_connection()
    with sqlite3.connect(copy) as source:
        source.backup(connection.connection)
    source.close()


def trellis_tables(connection: BaseDatabaseWrapper) -> list[str]:
    """Tables of Trellis's models (and Django's migration record) that exist here now."""
    existing = set(connection.introspection.table_names())
    ours = set(connection.introspection.django_table_names(only_existing=True))
    return sorted(ours | ({"django_migrations"} & existing))


def drop_tables(connection: BaseDatabaseWrapper, tables: list[str]) -> None:
    if not tables:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(connection.ops.quote_name(t) for t in tables)
            cursor.execute(f"DROP TABLE IF EXISTS {names} CASCADE")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")
            cursor.execute("PRAGMA foreign_keys = ON")
