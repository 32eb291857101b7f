"""Micro-randomized trials: the decision points of a clinic, exported for analysis.

A rule with `send_probability` below 1 is a trial: at each decision point where the
patient is available, a uniform draw decides whether the nudge is sent. The export holds
every decision point (trial or not, available or not), one row each, oldest first:

    decision_id, enrollment_id, rule_kind, program_key, decided_at, period, available,
    unavailable_reason, probability, draw, action, outcome_active, outcome_recorded_at

Times are UTC ISO 8601; booleans `true`/`false`; empty for unknown (no draw when not
available; no outcome before 24 hours have passed). `program_key` is the program the
enrollment is in. No names, no free text: enrollments by opaque id only. Every export is
in the audit trail (`nudges.export`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from trellis import audit
from trellis.accounts.models import Organization, User
from trellis.core import timeutil
from trellis.core.files import open_private
from trellis.nudges.models import DecisionPoint

COLUMNS = [
    "decision_id",
    "enrollment_id",
    "rule_kind",
    "program_key",
    "decided_at",
    "period",
    "available",
    "unavailable_reason",
    "probability",
    "draw",
    "action",
    "outcome_active",
    "outcome_recorded_at",
]
FIELDS = [
    "pk",
    "enrollment_id",
    "rule__kind",
    "enrollment__program_version__program__slug",
    "decided_at",
    "period",
    "available",
    "unavailable_reason",
    "probability",
    "draw",
    "action",
    "outcome_active",
    "outcome_recorded_at",
]
BATCH = 5000
FORMATS = ("csv", "parquet")


def iso_utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(timeutil.UTC).isoformat().replace("+00:00", "Z")


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _cells(row: tuple[Any, ...]) -> list[str]:
    (pk, enrollment, kind, program, decided, period, available, reason, p, draw, action) = row[:11]
    outcome, recorded = row[11:]
    return [
        str(pk),
        str(enrollment),
        kind,
        program,
        iso_utc(decided),
        period,
        _flag(available),
        reason,
        str(p),
        "" if draw is None else repr(float(draw)),
        action,
        _flag(outcome),
        iso_utc(recorded),
    ]


def rows(organization: Organization) -> Iterator[list[str]]:
    """Every decision point of the clinic as export cells, BATCH at a time (keyset
    pagination), so the export runs in little memory however many there are."""
    last: Any = None
    points = DecisionPoint.objects.filter(enrollment__organization=organization)
    while True:
        page = points.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        batch = list(page.values_list(*FIELDS)[:BATCH])
        if not batch:
            return
        for row in batch:
            yield _cells(row)
        last = batch[-1][0]


def csv_lines(organization: Organization) -> Iterator[str]:
    """The CSV, line by line (for a streamed download)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for cells in rows(organization):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        yield buffer.getvalue()


def record_export(
    organization: Organization,
    *,
    actor: User | None,
    fmt: str,
    count: int | None,
    actor_label: str = "",
) -> None:
    """The export in the audit trail: who, which clinic, the format and the row count."""
    with transaction.atomic():
        audit.record(
            action="nudges.export",
            actor=actor,
            actor_label=actor_label,
            organization=organization,
            details={"format": fmt, "rows": count, "what": "decision_points"},
        )


def write(organization: Organization, out: Path, *, fmt: str = "csv") -> int:
    """Write the clinic's decision points to `out` (CSV, or Parquet with proper types),
    readable by its owner only. Returns the number of rows."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use csv or parquet")
    target = out if fmt == "csv" else out.with_name(f".{out.name}.csv.part")
    count = 0
    with open_private(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for cells in rows(organization):
            writer.writerow(cells)
            count += 1
    if fmt == "parquet":
        try:
            open_private(out, "wb").close()
            _csv_to_parquet(target, out)
        finally:
            target.unlink(missing_ok=True)
    return count


def _csv_to_parquet(source: Path, target: Path) -> None:
    import polars as pl

    times = ("decided_at", "outcome_recorded_at")
    flags = ("available", "outcome_active")
    schema = {c: pl.String for c in COLUMNS}
    frame = pl.scan_csv(source, schema=schema)
    frame = frame.with_columns(
        [
            pl.col("decision_id").cast(pl.Int64),
            pl.col("probability").cast(pl.Float64),
            pl.when(pl.col("draw") == "")
            .then(None)
            .otherwise(pl.col("draw"))
            .cast(pl.Float64)
            .alias("draw"),
            *[
                pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c) == "true").alias(c)
                for c in flags
            ],
            *[
                pl.when(pl.col(c) == "")
                .then(None)
                .otherwise(pl.col(c))
                .str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", time_unit="us")
                .alias(c)
                for c in times
            ],
            *[
                pl.col(c).fill_null("")
                for c in ("rule_kind", "program_key", "period", "unavailable_reason", "action")
            ],
        ]
    )
    frame.sink_parquet(target)
