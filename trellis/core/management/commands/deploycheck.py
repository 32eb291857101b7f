"""`trellis check`: is this configuration safe to run a clinic on?

In production mode (TRELLIS_ENV=production) every error is listed and the command
exits 1, so a deployment script can stop before starting Trellis. In development
the same findings are shown as warnings and the command exits 0.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from trellis.core import deploychecks
from trellis.core.deploychecks import Finding, Level


class Command(BaseCommand):
    help = "Check the deployment configuration; exits 1 on any problem in production mode."
    # Django's system checks run inside handle(), reported in the same list.
    requires_system_checks = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--production",
            action="store_true",
            help="Judge the configuration as production even if TRELLIS_ENV is not production.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        production = bool(settings.PRODUCTION or options["production"])
        findings = deploychecks.run()
        findings += deploychecks.django_system_checks(deploy=production)
        if not production:
            findings = [Finding(Level.WARNING, f.message, f.fix) for f in findings]
        errors = [f for f in findings if f.level == Level.ERROR]
        warnings = [f for f in findings if f.level == Level.WARNING]
        mode = "production" if production else f"{settings.TRELLIS_ENV} (not production)"
        self.stdout.write(f"Trellis deployment check, mode: {mode}")
        for finding in errors:
            self.stdout.write(f"✗ {finding}")
        for finding in warnings:
            self.stdout.write(f"! {finding}")
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
