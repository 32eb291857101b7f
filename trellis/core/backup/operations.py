"""`trellis backup` and `trellis restore`: the two jobs, from the database and files to one
archive and back, each checking everything it can before it writes anything."""

from __future__ import annotations

import importlib.metadata
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

from trellis.core.backup import database, keys, state
from trellis.core.backup.archive import (
    FORMAT,
    FORMAT_VERSION,
    BackupError,
    read_archive,
    write_archive,
)
from trellis.core.files import open_private

Say = Callable[[str], None]
MEMBER = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


def trellis_version() -> str:
    try:
        return importlib.metadata.version("trellis")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _vendor() -> str:
    if connection.vendor not in database.VENDORS:
        raise BackupError(f"backups cover PostgreSQL and SQLite, not {connection.vendor}")
    return connection.vendor


def _sqlite_file() -> Path | None:
    name = str(connection.settings_dict.get("NAME") or "")
    return (
        Path(name)
        if connection.vendor == "sqlite"
        and name
        and not name.startswith("file:")
        and name != ":memory:"
        else None
    )


@dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    manifest: dict[str, Any]
    left_out: list[str] = field(default_factory=list)
    unconfigured_keys: list[str] = field(default_factory=list)


def make_backup(out: Path, *, now: datetime, keys_out: Path | None = None) -> BackupResult:
    """Write the database and the files a restore needs to `out`; the keys, if asked, to
    `keys_out`, a separate file. Refuses to overwrite either."""
    started = time.monotonic()
    out = out.absolute()
    if out.exists():
        raise BackupError(f"{out} exists already: choose a new name, a backup never overwrites one")
    if keys_out is not None and (keys_out.absolute() == out or keys_out.exists()):
        raise BackupError(f"--keys-out {keys_out} must be a new file other than the backup")
    if not out.parent.is_dir():
        raise BackupError(f"the folder {out.parent} does not exist")
    vendor = _vendor()
    created = now.isoformat()
    with tempfile.TemporaryDirectory(prefix=".trellis-backup-", dir=out.parent) as tmp:
        dump = Path(tmp) / MEMBER[vendor]
        if vendor == "postgresql":
            with transaction.atomic():
                snapshot = database.begin_snapshot(connection)
                database.dump_postgresql(connection, snapshot, dump)
                facts = _facts(database.django_query(connection), vendor)
                facts["server_version"] = database.django_query(connection)(
                    "SHOW server_version", []
                )[0][0]
        else:
            database.dump_sqlite(connection, dump)
            with sqlite3.connect(dump) as copy:
                facts = _facts(database.sqlite_query(copy), vendor)
            copy.close()
        files, left_out = state.collect(
            Path(settings.VAR_DIR), Path(settings.TRELLIS_AUDIT_ANCHOR_FILE), _sqlite_file()
        )
        data_ids: set[str] = facts.pop("data_key_ids")
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "trellis_version": trellis_version(),
            "created_at": created,
            "database": {
                "vendor": vendor,
                "member": MEMBER[vendor],
                "server_version": facts.pop("server_version", None),
            },
            "migrations": facts["migrations"],
            "rows": facts["rows"],
            "keys": keys.needed_keys(
                data_ids, settings.TRELLIS_DATA_KEYS, settings.TRELLIS_AUDIT_KEYS
            ),
            "files": [f.describe() for f in files],
        }
        members = [(MEMBER[vendor], dump)] + [(f.member, f.source) for f in files]
        write_archive(out, manifest, members, mtime=now.timestamp())
    if keys_out is not None:
        with open_private(keys_out) as f:
            f.write(
                keys.keys_file(
                    settings.TRELLIS_DATA_KEYS,
                    settings.TRELLIS_AUDIT_KEYS,
                    backup_name=out.name,
                    created=created,
                )
            )
    return BackupResult(
        path=out,
        size=out.stat().st_size,
        seconds=time.monotonic() - started,
        manifest=manifest,
        left_out=left_out,
        unconfigured_keys=keys.unconfigured(data_ids, settings.TRELLIS_DATA_KEYS),
    )


def _facts(query: keys.Query, vendor: str) -> dict[str, Any]:
    return {
        "migrations": database.migrations(query),
        "rows": database.row_counts(query, vendor),
        "data_key_ids": keys.data_key_ids_in_use(query),
    }


@dataclass
class RestoreResult:
    seconds: float
    rows: int
    tables: int
    unapplied: list[str]


def _migration_problems(applied: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(migrations in the backup this code lacks, this code's migrations the backup lacks)."""
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    in_backup = {(app, name) for app, names in applied.items() for name in names}
    unknown = sorted(f"{app}.{name}" for app, name in in_backup - on_disk)
    unapplied = sorted(f"{app}.{name}" for app, name in on_disk - in_backup)
    return unknown, unapplied


def restore_backup(archive: Path, *, force: bool, say: Say) -> RestoreResult:
    """Check the archive, the keys, the migrations and the target, say what will be done,
    then restore the database and the files. Nothing is written before every check passed."""
    started = time.monotonic()
    vendor = _vendor()
    with tempfile.TemporaryDirectory(prefix="trellis-restore-") as tmp:
        extracted = read_archive(archive, Path(tmp))
        manifest = extracted.manifest
        say(
            f"Backup of {manifest.get('created_at')} by Trellis {manifest.get('trellis_version')}: "
            f"checksums of {len(extracted.paths)} members match."
        )
        source = manifest.get("database") or {}
        if source.get("vendor") != vendor:
            raise BackupError(
                f"this is a backup of a {source.get('vendor')} database; "
                f"the configured database is {vendor}"
            )
        lacking = keys.missing(
            manifest.get("keys") or {}, settings.TRELLIS_DATA_KEYS, settings.TRELLIS_AUDIT_KEYS
        )
        if lacking:
            raise BackupError(
                "the backup needs keys this environment lacks: "
                + "; ".join(lacking)
                + ". Set them (from where the keys were stored, e.g. the file --keys-out "
                "wrote) and run restore again."
            )
        applied = manifest.get("migrations") or {}
        unknown, unapplied = _migration_problems(applied)
        if unknown:
            raise BackupError(
                f"the backup was made by a newer Trellis ({manifest.get('trellis_version')}): "
                f"this one lacks the migrations {', '.join(unknown[:5])}"
                + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            )
        placements = state.plan(
            manifest.get("files") or [],
            extracted.paths,
            Path(settings.VAR_DIR),
            Path(settings.TRELLIS_AUDIT_ANCHOR_FILE),
        )
        tables = database.trellis_tables(connection)
        replaced = [p for p in placements if p.action == "replace"]
        if (tables or replaced) and not force:
            found = []
            if tables:
                found.append(
                    f"the database {connection.settings_dict.get('NAME')} holds "
                    f"{len(tables)} Trellis tables"
                )
            found += [f"{p.target} differs from the backup's" for p in replaced]
            raise BackupError(
                "refusing to restore over existing data: "
                + "; ".join(found)
                + ". Restore into an empty database, or add --force to drop those tables "
                "and set the files aside first."
            )
        rows = manifest.get("rows") or {}
        say("Restoring:")
        if tables:
            say(
                f"  drop the {len(tables)} Trellis tables of {connection.settings_dict.get('NAME')}"
            )
        say(f"  load the {vendor} database: {len(rows)} tables, {sum(rows.values())} rows")
        for p in placements:
            say(f"  {p.describe()}")
        if vendor == "postgresql":
            database.drop_tables(connection, tables)
            database.restore_postgresql(connection, extracted.paths[source["member"]])
        else:
            database.restore_sqlite(connection, extracted.paths[source["member"]])
        state.apply(placements)
    connection.close()
    restored = database.row_counts(database.django_query(connection), vendor)
    differing = sorted(t for t, n in rows.items() if restored.get(t) != n)
    if differing:
        raise BackupError(
            f"after the restore, the row counts of {', '.join(differing[:5])} "
            "differ from the backup's"
        )
    return RestoreResult(
        seconds=time.monotonic() - started,
        rows=sum(rows.values()),
        tables=len(rows),
        unapplied=unapplied,
    )
