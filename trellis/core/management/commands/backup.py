"""`trellis backup --out FILE [--keys-out FILE]`: the database and the files a restore needs,
in one archive, never with the keys (docs/operations.md#backups)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from trellis.core.backup.archive import BackupError
from trellis.core.backup.operations import make_backup


class Command(BaseCommand):
    help = "Back up the database and the files outside it to one archive (without the keys)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--out", required=True, type=Path, help="The archive to write (a new file)."
        )
        parser.add_argument(
            "--keys-out",
            type=Path,
            help="Also write the data and audit keys to this separate file, to store apart.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = make_backup(options["out"], now=timezone.now(), keys_out=options["keys_out"])
        except BackupError as e:
            raise CommandError(f"No backup made: {e}") from None
        manifest = result.manifest
        rows = manifest["rows"]
        self.stdout.write(
            f"Backed up {manifest['database']['vendor']}: {len(rows)} tables, "
            f"{sum(rows.values())} rows, {len(manifest['files'])} files, to {result.path} "
            f"({result.size / 1e6:.1f} MB) in {result.seconds:.1f} s."
        )
        needed = manifest["keys"]
        self.stdout.write(
            "A restore needs the data keys "
            + (", ".join(k["id"] for k in needed["data"]) or "(none: nothing is encrypted yet)")
            + " and the audit keys "
            + (", ".join(k["id"] for k in needed["audit"]) or "(none)")
            + ": they are not in the backup."
        )
        if options["keys_out"]:
            self.stdout.write(
                f"Keys written to {options['keys_out']}: store it apart from the backup."
            )
        for key_id in result.unconfigured_keys:
            self.stderr.write(
                f"Warning: values are stored under the data key {key_id!r}, "
                "which TRELLIS_DATA_KEYS lacks."
            )
        for line in result.left_out:
            self.stdout.write(f"Not in the backup: {line}")
