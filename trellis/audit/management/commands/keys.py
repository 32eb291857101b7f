"""`trellis keys generate | status | rotate`: the data keys that encrypt free text at rest.
`trellis keys vapid` prints a new key pair for web push (docs/nudges-push.md).

Rotating a key:
  1. `trellis keys generate --id k2` prints a new key line.
  2. Put it first in TRELLIS_DATA_KEYS ("k2:...,k1:..."), restart Trellis: new values
     are written under k2, old ones still decrypt with k1.
  3. `trellis keys rotate` re-encrypts every older value under k2 (resumable).
  4. When `trellis keys status` shows nothing left under k1, remove k1.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from trellis import audit
from trellis.core import crypto, rotation, vapid


class Command(BaseCommand):
    help = "Generate, inspect and rotate the keys that encrypt free text at rest."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{generate,status,rotate,vapid}"
        )
        generate = sub.add_parser(
            "generate",
            help="Print a new random key line for TRELLIS_DATA_KEYS (or TRELLIS_AUDIT_KEYS).",
        )
        generate.add_argument("--id", default="", help="Key id (letters, digits, - and _).")
        sub.add_parser("status", help="Count stored values under each key, per field.")
        sub.add_parser(
            "vapid",
            help="Print a new web-push (VAPID) key pair as TRELLIS_VAPID_* settings lines.",
        )
        rotate = sub.add_parser("rotate", help="Re-encrypt every value under the newest key.")
        rotate.add_argument("--batch-size", type=int, default=500, help="Rows per transaction.")
        rotate.add_argument(
            "--limit",
            type=int,
            default=None,
            help="Stop after this many rows (run again to resume).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        match options["subcommand"]:
            case "generate":
                self.generate(options["id"])
            case "status":
                self.status()
            case "rotate":
                self.rotate(options["batch_size"], options["limit"])
            case "vapid":
                private, public = vapid.generate_pair()
                self.stdout.write(f"TRELLIS_VAPID_PRIVATE_KEY={private}")
                self.stdout.write(f"TRELLIS_VAPID_PUBLIC_KEY={public}")

    def _ring(self) -> crypto.KeyRing:
        try:
            return crypto.keyring()
        except crypto.KeyConfigurationError as exc:
            raise CommandError(f"TRELLIS_DATA_KEYS is not usable: {exc}") from None

    def generate(self, key_id: str) -> None:
        if key_id and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", key_id):
            raise CommandError("--id may hold only letters, digits, - and _ (at most 32)")
        if not key_id:
            key_id = "k" + crypto.new_key()[:8].lower().replace("+", "x").replace("/", "y")
        self.stdout.write(f"{key_id}:{crypto.new_key()}")

    def status(self) -> None:
        ring = self._ring()
        configured = [kid for kid, _ in ring.keys]
        self.stdout.write(f"Configured keys (newest first): {', '.join(configured)}")
        stale = 0
        for name, counts in rotation.key_usage().items():
            summary = ", ".join(f"{kid}: {n}" for kid, n in sorted(counts.items())) or "no values"
            self.stdout.write(f"  {name}: {summary}")
            stale += sum(n for kid, n in counts.items() if kid != ring.current_id)
        if stale:
            self.stdout.write(f"{stale} values are not under the newest key {ring.current_id}.")
        else:
            self.stdout.write(f"Every value is under the newest key {ring.current_id}.")

    def rotate(self, batch_size: int, limit: int | None) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        ring = self._ring()
        self.stdout.write(f"Re-encrypting under key {ring.current_id} in batches of {batch_size}")

        def progress(field: str, done: int) -> None:
            self.stdout.write(f"  {field}: {done} re-encrypted")

        try:
            result = rotation.rotate(
                batch_size=batch_size, limit=limit, ring=ring, progress=progress
            )
        except (crypto.KeyConfigurationError, crypto.DecryptionError) as exc:
            raise CommandError(f"Rotation stopped: {exc}") from None
        for f in result.fields:
            self.stdout.write(f"{f.field}: {f.rotated} re-encrypted, {f.remaining} remaining")
        with transaction.atomic():
            audit.record(
                action="keys.rotate",
                actor_label="trellis keys rotate",
                details={
                    "key_id": result.key_id,
                    "rotated": result.rotated,
                    "remaining": result.remaining,
                    "fields": {f.field: f.rotated for f in result.fields},
                },
            )
        if result.remaining:
            self.stdout.write(
                f"{result.rotated} values re-encrypted; {result.remaining} remain. "
                "Run `trellis keys rotate` again to continue."
            )
        else:
            self.stdout.write(
                f"{result.rotated} values re-encrypted; every value is under key {result.key_id}."
            )
