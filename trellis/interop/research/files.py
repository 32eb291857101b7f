"""Writing a de-identified export as files: one CSV or Parquet file per table, in a
directory or a zip archive, with a README that says what the columns are. No database."""

from __future__ import annotations

import io
import zipfile
from enum import StrEnum
from pathlib import Path
from typing import Any

import polars as pl

from trellis.interop.research.deidentify import COLUMNS, Deidentified


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


INSTANT = "%Y-%m-%dT%H:%M:%SZ"

SCHEMAS: dict[str, dict[str, Any]] = {
    "enrollments": {
        "patient": pl.String,
        "enrollment": pl.String,
        "program": pl.String,
        "support_level": pl.String,
        "status": pl.String,
        "started_on": pl.Date,
        "ended_on": pl.Date,
        "age_band": pl.String,
        "sex": pl.String,
    },
    "scores": {
        "enrollment": pl.String,
        "instrument": pl.String,
        "total": pl.Int32,
        "band": pl.String,
        "submitted_on": pl.Date,
    },
    "events": {
        "enrollment": pl.String,
        "occurred_at": pl.Datetime("us", "UTC"),
        "type": pl.String,
        "step_kind": pl.String,
        "duration_s": pl.Int64,
    },
    "moods": {"enrollment": pl.String, "score": pl.Int16, "recorded_at": pl.Datetime("us", "UTC")},
}

README = """De-identified research export (HIPAA Safe Harbor)

Tables: enrollments, scores, events, moods. Ids (P-..., E-...) are random for this export
only. Every date of one patient is shifted by the same random number of days; intervals
within a patient are true, calendar dates are not. Ages above 89 are written as 90+.
No free text is included. Every combination of program, support_level, status, age_band
and sex describes at least {k} patients.

Columns:
{columns}
"""


def _temporal(dtype: object) -> bool:
    return dtype == pl.Date or dtype == pl.Datetime


def _parse(column: str, dtype: object) -> pl.Expr:
    if dtype == pl.Date:
        return pl.col(column).str.to_date("%Y-%m-%d")
    return pl.col(column).str.to_datetime(INSTANT, time_unit="us", time_zone="UTC")


def frames(data: Deidentified) -> dict[str, pl.DataFrame]:
    """Each table as a polars DataFrame with fixed column types (also when empty)."""
    out: dict[str, pl.DataFrame] = {}
    for name, rows in data.tables().items():
        schema = SCHEMAS[name]
        as_text = {c: (pl.String if _temporal(t) else t) for c, t in schema.items()}
        frame = pl.DataFrame(
            {col: [row[col] for row in rows] for col in COLUMNS[name]}, schema=as_text
        )
        out[name] = frame.with_columns([_parse(c, t) for c, t in schema.items() if _temporal(t)])
    return out


def _write(frame: pl.DataFrame, fmt: Format) -> bytes:
    buffer = io.BytesIO()
    if fmt == Format.PARQUET:
        frame.write_parquet(buffer)
    else:
        frame.write_csv(buffer, datetime_format=INSTANT)
    return buffer.getvalue()


def readme(k: int) -> str:
    columns = "\n".join(f"  {name}: {', '.join(cols)}" for name, cols in COLUMNS.items())
    return README.format(k=k, columns=columns)


def write_directory(data: Deidentified, fmt: Format, directory: Path, *, k: int) -> list[Path]:
    """Write one file per table (and the README) into `directory`; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames(data).items():
        path = directory / f"{name}.{fmt.value}"
        path.write_bytes(_write(frame, fmt))
        written.append(path)
    notes = directory / "README.txt"
    notes.write_text(readme(k), encoding="utf-8")
    written.append(notes)
    return written


def zip_archive(data: Deidentified, fmt: Format, *, k: int) -> bytes:
    """The same files in one zip archive (the page's download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, frame in frames(data).items():
            archive.writestr(f"{name}.{fmt.value}", _write(frame, fmt))
        archive.writestr("README.txt", readme(k))
    return buffer.getvalue()
