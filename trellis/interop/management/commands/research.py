"""`trellis research export --clinic SLUG --by EMAIL [--format csv|parquet] --out DIR`: the
de-identified research export (the same as the page), written as one file per table."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from trellis.accounts.models import Organization, User
from trellis.accounts.queries import active_memberships
from trellis.core import timeutil
from trellis.interop.erasure.queries import EXPORTERS
from trellis.interop.research import files
from trellis.interop.research.export import ExportRefused, export_research


class Command(BaseCommand):
    help = "The de-identified research export of a clinic, as CSV or Parquet files."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{export}")
        export = sub.add_parser("export", help="Write the de-identified export into a directory.")
        export.add_argument("--clinic", required=True, metavar="SLUG")
        export.add_argument(
            "--by", required=True, metavar="EMAIL", help="The researcher or admin exporting."
        )
        export.add_argument(
            "--format", choices=[f.value for f in files.Format], default=files.Format.CSV.value
        )
        export.add_argument("--out", required=True, type=Path, metavar="DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        clinic = Organization.objects.filter(slug=options["clinic"]).first()
        if clinic is None:
            raise CommandError(f"No clinic has the slug {options['clinic']!r}.")
        person = User.objects.filter(email__iexact=options["by"], is_active=True).first()
        if (
            person is None
            or not active_memberships(person)
            .filter(organization=clinic, role__in=EXPORTERS)
            .exists()
        ):
            raise CommandError(f"{options['by']} is not a researcher or admin of {clinic.slug}.")
        fmt = files.Format(options["format"])
        try:
            export = export_research(clinic, by=person, fmt=fmt, now=timeutil.now())
        except ExportRefused as refused:
            lines = [f"Refused: {' '.join(refused.messages)}"]
            lines += [f"  {group.describe()}" for group in refused.groups]
            raise CommandError("\n".join(lines)) from None
        written = files.write_directory(export.data, fmt, options["out"], k=export.k)
        self.stdout.write(
            f"{export.data.patients} patients; wrote " + ", ".join(str(path) for path in written)
        )
