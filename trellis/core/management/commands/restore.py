"""`trellis restore FILE [--force]`: a backup back into an empty database, checked first
(docs/operations.md#backups)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trellis.core.backup.archive import BackupError
from trellis.core.backup.operations import restore_backup


class Command(BaseCommand):
    help = "Restore a backup made by `trellis backup` into an empty database."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("archive", type=Path, help="The backup file.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="First drop the Trellis tables in the database and set differing files aside.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = restore_backup(
                options["archive"], force=options["force"], say=self.stdout.write
            )
        except BackupError as e:
            raise CommandError(f"Nothing restored: {e}") from None
        self.stdout.write(
            f"Restored {result.tables} tables, {result.rows} rows, in {result.seconds:.1f} s. "
            "Row counts match the backup's."
        )
        if result.unapplied:
            self.stdout.write(
                f"This Trellis has {len(result.unapplied)} migrations newer than the backup: "
                "run `trellis migrate`."
            )
        self.stdout.write("Check the audit trail with `trellis audit verify`.")
