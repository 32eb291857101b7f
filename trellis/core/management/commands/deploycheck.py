"""`trellis check`: is this configuration safe to run a clinic on?

Runs Django's system checks with its deployment checks and the database checks of the
default database (as `check --deploy --database default` would), which include Trellis's
own (trellis/core/checks.py and the apps' checks modules), and prints one line per
problem with how to fix it. In production mode (TRELLIS_ENV=production) every error is
listed and the command exits 1, so a deployment script can stop before starting Trellis.
In development the same findings are shown as warnings and the command exits 0.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from trellis.core.deployment import describe, findings


class Command(BaseCommand):
    help = "Check the deployment configuration; exits 1 on any problem in production mode."
    # The system checks run inside handle(), with the deployment ones, in one list.
    requires_system_checks = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--production",
            action="store_true",
            help="Judge the configuration as production even if TRELLIS_ENV is not production.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        production = bool(settings.PRODUCTION or options["production"])
        found = findings(production=production)
        errors, warnings = found.errors, found.warnings
        mode = "production" if production else f"{settings.TRELLIS_ENV} (not production)"
        self.stdout.write(f"Trellis deployment check, mode: {mode}")
        for message in errors:
            self.stdout.write(f"✗ {describe(message)}")
        for message in warnings:
            self.stdout.write(f"! {describe(message)}")
        if errors:
            self.stdout.write(
                f"{len(errors)} problem(s) must be fixed before Trellis runs in production."
            )
            sys.exit(1)
        if not production and warnings:
            self.stdout.write(
                f"{len(warnings)} warning(s); in production mode these would need fixing."
            )
            return
        suffix = f" ({len(warnings)} warning(s))" if warnings else ""
        self.stdout.write(f"✓ All checks passed{suffix}")
