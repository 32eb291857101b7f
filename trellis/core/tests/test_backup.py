"""`trellis backup` and `trellis restore`: a clinic's data comes back whole, the audit trail
still verifies and free text still decrypts, and a restore refuses, before writing anything,
an archive that is damaged, an environment without the keys, or a database in use.

The round trip restores into a second database on the same PostgreSQL server. The refusal
tests back up the (empty, migrated) test database itself and run on either database.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from trellis.alerts.tests.helpers import T0, alex_with_maria
from trellis.audit.models import AuditEvent
from trellis.core.backup import database
from trellis.core.backup.archive import BackupError
from trellis.core.testing import need_postgres, need_service
from trellis.journey import services as journey
from trellis.journey.models import JournalEntry
from trellis.measures import services as measures
from trellis.measures.queries import due_for
from trellis.messaging import services as messaging
from trellis.messaging.models import Message

JOURNAL = "Walked by the river after the session; the tightness in my chest eased."
MESSAGE = "Could we go over the worry diary on Thursday?"
REPLY = "Yes, bring the two entries from the weekend."


def need_dump_tools() -> None:
    if connection.vendor == "postgresql":
        try:
            database.find_tool("pg_dump")
            database.find_tool("pg_restore")
        except BackupError:
            need_service(False, "PostgreSQL's pg_dump and pg_restore")


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def back_up(tmp_path: Path, *extra: str) -> Path:
    archive = tmp_path / f"trellis-{uuid.uuid4().hex[:8]}.tar"
    run("backup", "--out", str(archive), *extra)
    return archive


def counts() -> dict[str, int]:
    return database.row_counts(database.django_query(connection), connection.vendor)


@contextmanager
def second_database() -> Iterator[str]:
    """A fresh, empty database on the same PostgreSQL server, Django connected to it."""
    settings_dict = connection.settings_dict
    original = settings_dict["NAME"]
    name = f"{original}_restored"[:63]
    admin: dict[str, Any] = {
        "host": settings_dict.get("HOST") or "127.0.0.1",
        "port": settings_dict.get("PORT") or 5432,
        "user": settings_dict.get("USER") or "postgres",
        "password": settings_dict.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    settings_dict["NAME"] = name
    try:
        yield name
    finally:
        connection.close()
        settings_dict["NAME"] = original
        with psycopg.connect(**admin) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.services
def test_round_trip_into_a_fresh_database_keeps_the_audit_chain_and_the_free_text(
    transactional_db: Any, cast: Any, settings: Any, tmp_path: Path
) -> None:
    need_postgres()
    need_dump_tools()
    settings.VAR_DIR = tmp_path / "var"
    (settings.VAR_DIR / "demo-ehr").mkdir(parents=True)
    (settings.VAR_DIR / "demo-ehr" / "client-id.txt").write_text("riverside-ehr\n")
    (settings.VAR_DIR / "exports").mkdir()
    # A clinic's day through the real services: a journal entry, a thread, a PHQ-9.
    enrollment = alex_with_maria(cast)
    alex, maria = cast["patient_alex"], cast["therapist_maria"]
    entry = journey.add_journal_entry(
        enrollment, actor=alex, body=JOURNAL, shared=True, client_id=uuid.uuid4(), now=T0
    )
    asked = messaging.send_message(
        enrollment, sender=alex, body=MESSAGE, client_id=uuid.uuid4(), now=T0
    )
    answered = messaging.send_message(
        enrollment, sender=maria, body=REPLY, client_id=uuid.uuid4(), now=T0
    )
    measures.schedule_for_enrollment(enrollment, now=T0)
    phq9 = next(a for a in due_for(enrollment, T0) if a.instrument == "PHQ-9")
    measures.submit_response(
        enrollment,
        "PHQ-9",
        actor=alex,
        answers={f"q{i}": 1 for i in range(1, 10)} | {"q9": 0},
        client_id=uuid.uuid4(),
        now=T0,
        assignment=phq9,
    )
    run("audit", "anchor")
    before = counts()
    assert before["audit_auditevent"] == AuditEvent.objects.count() > 10
    keys_file = tmp_path / "keys.env"
    archive = back_up(tmp_path, "--keys-out", str(keys_file))
    assert "TRELLIS_DATA_KEYS=" in keys_file.read_text()
    # No key is in the archive, in any member.
    raw = archive.read_bytes()
    for spec in (settings.TRELLIS_DATA_KEYS, settings.TRELLIS_AUDIT_KEYS):
        secret = spec.split(",")[0].split(":", 1)[1]
        assert secret.encode() not in raw
        assert base64.b64decode(secret) not in raw

    # The restoring machine: its own folder and anchor file, the same keys.
    settings.VAR_DIR = tmp_path / "restored-var"
    settings.TRELLIS_AUDIT_ANCHOR_FILE = str(tmp_path / "restored-anchors.jsonl")
    with second_database():
        keys = settings.TRELLIS_DATA_KEYS
        settings.TRELLIS_DATA_KEYS = "other:" + base64.b64encode(b"o" * 32).decode()
        with pytest.raises(CommandError, match="TRELLIS_DATA_KEYS lacks the key"):
            run("restore", str(archive))
        assert database.trellis_tables(connection) == []  # refused before writing
        settings.TRELLIS_DATA_KEYS = keys

        printed = run("restore", str(archive))
        assert "Restored" in printed and "Row counts match" in printed
        assert counts() == before
        verified = run("audit", "verify")
        assert f"{before['audit_auditevent']} audit events verified" in verified
        assert "no anchors" not in verified  # checked against the restored anchor file
        assert JournalEntry.objects.get(pk=entry.pk).body == JOURNAL
        bodies = dict(Message.objects.values_list("pk", "body"))
        assert bodies[asked.pk] == MESSAGE and bodies[answered.pk] == REPLY
        assert (settings.VAR_DIR / "demo-ehr" / "client-id.txt").read_text() == "riverside-ehr\n"
        assert not (settings.VAR_DIR / "exports").exists()


@pytest.fixture
def backed_up(transactional_db: Any, settings: Any, tmp_path: Path) -> Path:
    """A backup of the (migrated, empty) test database."""
    need_dump_tools()
    settings.VAR_DIR = tmp_path / "var"
    return back_up(tmp_path)


def test_restore_refuses_an_environment_without_the_backups_audit_key(
    backed_up: Path, settings: Any
) -> None:
    kid = settings.TRELLIS_AUDIT_KEYS.split(":", 1)[0]
    other = base64.b64encode(b"a different audit key, 32 bytes+").decode()
    settings.TRELLIS_AUDIT_KEYS = f"{kid}:{other}"
    with pytest.raises(CommandError, match=f"has a key '{kid}', but not the one the backup"):
        run("restore", str(backed_up), "--force")
    settings.TRELLIS_AUDIT_KEYS = f"newer:{other}"
    with pytest.raises(CommandError, match=f"TRELLIS_AUDIT_KEYS lacks the key '{kid}'"):
        run("restore", str(backed_up), "--force")


def test_restore_refuses_a_damaged_or_truncated_archive_before_writing(
    backed_up: Path, tmp_path: Path
) -> None:
    marker = AuditEvent.objects.count()
    data = bytearray(backed_up.read_bytes())
    damaged = tmp_path / "damaged.tar"
    middle = len(data) // 2
    data[middle] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="does not match its checksum"):
        run("restore", str(damaged), "--force")
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(backed_up.read_bytes()[:middle])
    with pytest.raises(CommandError, match="truncated"):
        run("restore", str(truncated), "--force")
    foreign = tmp_path / "notes.tar"
    foreign.write_bytes(b"not an archive at all" * 100)
    with pytest.raises(CommandError, match=r"damaged or truncated|not a Trellis backup"):
        run("restore", str(foreign), "--force")
    # --force was given, yet nothing was dropped.
    assert "audit_auditevent" in database.trellis_tables(connection)
    assert AuditEvent.objects.count() == marker


def test_restore_refuses_a_database_in_use_unless_forced(backed_up: Path) -> None:
    with pytest.raises(CommandError, match=r"holds \d+ Trellis tables.*--force"):
        run("restore", str(backed_up))
    printed = run("restore", str(backed_up), "--force")
    assert "drop the" in printed and "Row counts match" in printed
