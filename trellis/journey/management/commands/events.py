"""`trellis events export`: the engagement event log in the interchange format.

    trellis events export --out DIR [--format csv|parquet] [--organization SLUG] [--since DATE]

Writes two files into DIR:

- events.csv (or .parquet): enrollment_id, occurred_at (UTC ISO 8601), type, step_kind,
  duration_s, value; one row per event, oldest first.
- enrollments.csv (or .parquet): enrollment_id, started_at, support_level, baseline_phq9,
  baseline_gad7, ended_at, end_reason (completed, withdrawn or discharged); one row per
  enrollment the events belong to.

Rows are read and written in batches, so the export never holds the whole log in memory.
Parquet is written by streaming the CSV through polars. The folder (when this creates it)
is 0700 and the files 0600: readable by their owner only. The export is recorded in the
audit trail (`events.export`).
"""

from __future__ import annotations

import csv
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from trellis import audit
from trellis.accounts.models import Organization
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.core.dbrouter import reading_from_replica
from trellis.core.files import open_private, private_dir
from trellis.engagement.interchange import ENROLLMENT_COLUMNS, EVENT_COLUMNS
from trellis.engagement.models import EngagementEvent

BATCH = 5000


def _since(raw: str) -> datetime:
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time(0), tzinfo=timeutil.UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a date (YYYY-MM-DD) or date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timeutil.UTC)


def iso_utc(moment: datetime | None) -> str:
    """2026-03-02T09:00:00Z (microseconds kept when present)."""
    if moment is None:
        return ""
    return moment.astimezone(timeutil.UTC).isoformat().replace("+00:00", "Z")


def _batched(queryset: Any, fields: list[str]) -> Iterator[tuple[Any, ...]]:
    """Rows in primary-key order, BATCH at a time (keyset pagination: no long cursor)."""
    last: Any = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        rows = list(page.values_list("pk", *fields)[:BATCH])
        if not rows:
            return
        for row in rows:
            yield row[1:]
        last = rows[-1][0]


class Command(BaseCommand):
    help = "Export the engagement event log and enrollments (CSV or Parquet)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{export}")
        export = sub.add_parser("export", help="Write events and enrollments files into a folder.")
        export.add_argument("--out", required=True, type=Path, help="Folder to write into.")
        export.add_argument("--format", choices=["csv", "parquet"], default="csv")
        export.add_argument("--organization", metavar="SLUG", help="Only this clinic.")
        export.add_argument("--since", type=_since, help="Only events from this date (UTC).")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        private_dir(out)
        events = EngagementEvent.objects.all()
        enrollments = Enrollment.objects.all()
        organization = None
        if options["organization"]:
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No clinic with the short name {options['organization']!r}.")
            events = events.filter(enrollment__organization=organization)
            enrollments = enrollments.filter(organization=organization)
        since = options["since"]
        if since is not None:
            events = events.filter(occurred_at__gte=since)
            enrollments = enrollments.filter(pk__in=events.values("enrollment_id"))
        fmt = options["format"]
        with reading_from_replica():
            event_count = self._write_events(events, out, fmt)
            enrollment_count = self._write_enrollments(enrollments, out, fmt)
        with transaction.atomic():
            audit.record(
                action="events.export",
                actor_label="trellis events export",
                organization=organization,
                details={
                    "format": fmt,
                    "since": iso_utc(since),
                    "events": event_count,
                    "enrollments": enrollment_count,
                },
            )
        self.stdout.write(
            f"Wrote {event_count} events and {enrollment_count} enrollments to {out} ({fmt})."
        )

    def _write_events(self, events: Any, out: Path, fmt: str) -> int:
        rows = (
            [str(enr), iso_utc(at), kind, step_kind, "" if dur is None else dur, value]
            for enr, at, kind, step_kind, dur, value in _batched(
                events,
                ["enrollment_id", "occurred_at", "type", "step_kind", "duration_s", "value"],
            )
        )
        return self._write(out, "events", EVENT_COLUMNS, rows, fmt)

    def _write_enrollments(self, enrollments: Any, out: Path, fmt: str) -> int:
        rows = (
            # end_reason is how it ended (completed, withdrawn, discharged), never the words
            # a clinician typed: the export holds no free text.
            [str(pk), iso_utc(started), level, "", "", iso_utc(ended), status if ended else ""]
            for pk, started, level, ended, status in _batched(
                enrollments, ["pk", "started_at", "support_level", "ended_at", "status"]
            )
        )
        return self._write(out, "enrollments", ENROLLMENT_COLUMNS, rows, fmt)

    def _write(
        self, out: Path, name: str, columns: list[str], rows: Iterator[list[Any]], fmt: str
    ) -> int:
        target = out / f"{name}.csv"
        if fmt == "parquet":
            target = out / f".{name}.csv.part"
        count = 0
        with open_private(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(row)
                count += 1
        if fmt == "parquet":
            try:
                parquet = out / f"{name}.parquet"
                # Created 0600 before polars writes into it (polars keeps the file's mode).
                open_private(parquet, "wb").close()
                _csv_to_parquet(target, parquet, columns)
            finally:
                target.unlink(missing_ok=True)
        return count


def _csv_to_parquet(source: Path, target: Path, columns: list[str]) -> None:
    """Stream a CSV written above into Parquet with proper types (times as UTC datetimes,
    counts and scores as nullable integers)."""
    import polars as pl

    times = {"occurred_at", "started_at", "ended_at"}
    integers = {"duration_s", "baseline_phq9", "baseline_gad7"}
    schema = {c: pl.Int64 if c in integers else pl.String for c in columns}
    frame = pl.scan_csv(source, schema=schema)
    frame = frame.with_columns(
        [pl.col(c).fill_null("") for c in columns if c not in times | integers]
        + [
            pl.when(pl.col(c) == "")
            .then(None)
            .otherwise(pl.col(c))
            .str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", time_unit="us")
            .alias(c)
            for c in columns
            if c in times
        ]
    )
    frame.sink_parquet(target)
