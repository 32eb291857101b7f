"""Files that hold patient data are created readable by their owner only.

The SQLite database (and its -wal and -shm files) 0600 in a var/ folder 0700, and the event
log export's files 0600. Each test runs under the common umask 022, which on its own would
make them readable by everyone (0644 and 0755).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from trellis.core.files import PrivateSQLiteConnection, open_private
from trellis.journey.tests.factories import enroll_alex


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_the_owners_only(
    tmp_path: Path,
) -> None:
    db = tmp_path / "trellis.sqlite3"
    with umask(0o022):
        conn = sqlite3.connect(db, factory=PrivateSQLiteConnection)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE note (body TEXT)")
            conn.execute("INSERT INTO note VALUES ('x')")
            conn.commit()
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        finally:
            conn.close()


def test_an_existing_database_file_keeps_the_mode_its_operator_gave_it(tmp_path: Path) -> None:
    db = tmp_path / "trellis.sqlite3"
    sqlite3.connect(db).close()
    db.chmod(0o640)
    sqlite3.connect(db, factory=PrivateSQLiteConnection).close()
    assert mode(db) == 0o640


def test_in_memory_databases_open_as_before() -> None:
    conn = sqlite3.connect(":memory:", factory=PrivateSQLiteConnection)
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()


@pytest.mark.slow
def test_trellis_migrate_creates_var_and_the_database_for_the_owner_only(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "DATABASE_URL"))}
    env.update(TRELLIS_ENV="test", TRELLIS_VAR_DIR=str(var))
    subprocess.run(
        [sys.executable, "-m", "trellis", "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
        timeout=300,
        umask=0o022,
    )
    assert mode(var) == 0o700
    assert mode(var / "trellis.sqlite3") == 0o600
    for leftover in (var / "trellis.sqlite3-wal", var / "trellis.sqlite3-shm"):
        if leftover.exists():
            assert mode(leftover) == 0o600


def test_open_private_tightens_a_file_left_by_an_earlier_run(tmp_path: Path) -> None:
    old = tmp_path / "events.csv"
    old.write_text("old")
    old.chmod(0o644)
    with umask(0o022), open_private(old) as handle:
        handle.write("new")
    assert mode(old) == 0o600
    assert old.read_text() == "new"


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_event_log_export_is_written_for_the_owner_only(
    cast: Any, tmp_path: Path, fmt: str
) -> None:
    enroll_alex(cast)
    out = tmp_path / "export"
    with umask(0o022):
        call_command("events", "export", "--out", str(out), "--format", fmt, stdout=StringIO())
    assert mode(out) == 0o700
    written = sorted(out.iterdir())
    assert [p.name for p in written] == [f"enrollments.{fmt}", f"events.{fmt}"]
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
