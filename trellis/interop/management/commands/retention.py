"""`trellis retention [--clinic SLUG] [--dry-run]`: erase the patients whose records are
past their clinic's retention time (the nightly job does the same); with --dry-run, list
who would be erased and write nothing."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Organization
from trellis.core import timeutil
from trellis.interop.retention import apply_retention


class Command(BaseCommand):
    help = "Erase the patients whose records are past their clinic's retention time."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--clinic", metavar="SLUG", help="Only this clinic (default: all).")
        parser.add_argument(
            "--dry-run", action="store_true", help="List who would be erased; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        clinics = Organization.objects.order_by("name")
        if options["clinic"]:
            clinics = clinics.filter(slug=options["clinic"])
            if not clinics.exists():
                raise CommandError(f"No clinic has the slug {options['clinic']!r}.")
        now = timeutil.now()
        dry_run = options["dry_run"]
        for clinic in clinics:
            outcome = apply_retention(clinic, now=now, dry_run=dry_run)
            verb = "would erase" if dry_run else "erased"
            self.stdout.write(f"{clinic.slug}: {verb} {len(outcome.due)} patients")
            if dry_run:
                for person in outcome.due:
                    self.stdout.write(f"  {person.pk} {person.email}")
            for person_id, rules in outcome.held_back.items():
                self.stdout.write(f"  held back {person_id}: {', '.join(rules)}")
