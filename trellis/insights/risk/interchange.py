"""Reading and writing the interchange format (docs/events.md), CSV or Parquet.

A file is read whole and checked before anything uses it: a missing column, a date that
is not a date, a duration that is not a whole number fails with the file, the line (the
CSV line, counting the header as line 1; for Parquet, the row) and the column. Enrollment
ids are opaque text. Event types Trellis does not know are kept out and counted, never
fatal: another platform may log more than Trellis reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from trellis.engagement.models import EventType

REQUIRED = {
    "events": ["enrollment_id", "occurred_at", "type"],
    "enrollments": ["enrollment_id", "started_at", "support_level"],
}
KNOWN_TYPES = frozenset(EventType.values)
UTC = pl.Datetime("us", "UTC")


class FileProblem(ValueError):
    """A file that cannot be used, with where the problem is."""

    def __init__(self, path: Path, message: str, *, line: int | None = None, column: str = ""):
        where = f"{path}"
        if line is not None:
            where += f", {'line' if path.suffix == '.csv' else 'row'} {line}"
        if column:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.column = path, line, column


@dataclass
class Events:
    frame: pl.DataFrame
    unknown_types: dict[str, int] = field(default_factory=dict)


def _read_raw(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise FileProblem(path, "no such file")
    try:
        if path.suffix == ".parquet":
            return pl.read_parquet(path)
        if path.suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise FileProblem(path, f"cannot be read ({type(error).__name__})") from None
    raise FileProblem(path, "is neither .csv nor .parquet")


def _first_bad(raw: pl.Series, parsed: pl.Series) -> int | None:
    """The index of the first value that was given but did not parse."""
    given = raw.is_not_null() & (raw.cast(pl.String, strict=False).str.len_chars() > 0)
    bad = given & parsed.is_null()
    if not bad.any():
        return None
    return int(bad.arg_max() or 0)


def _line(path: Path, index: int) -> int:
    return index + 2 if path.suffix == ".csv" else index + 1


def _as_time(frame: pl.DataFrame, path: Path, column: str) -> pl.Series:
    raw = frame[column]
    if raw.dtype == pl.String:
        text = raw.replace("", None)
        parsed = text.str.to_datetime(time_zone="UTC", time_unit="us", strict=False)
    elif isinstance(raw.dtype, pl.Datetime):
        parsed = (
            (raw.dt.replace_time_zone("UTC") if raw.dtype.time_zone is None else raw)
            .dt.convert_time_zone("UTC")
            .cast(UTC)
        )
    else:
        raise FileProblem(path, f"is {raw.dtype}, not a time", column=column)
    bad = _first_bad(raw, parsed)
    if bad is not None:
        raise FileProblem(
            path, f"{raw[bad]!r} is not a UTC ISO 8601 time", line=_line(path, bad), column=column
        )
    return parsed.alias(column)


def _as_int(frame: pl.DataFrame, path: Path, column: str) -> pl.Series:
    raw = frame[column]
    if raw.dtype == pl.String:
        parsed = raw.replace("", None).cast(pl.Int64, strict=False)
    elif raw.dtype.is_integer():
        parsed = raw.cast(pl.Int64)
    elif raw.dtype.is_float():
        parsed = raw.cast(pl.Int64, strict=False)
    else:
        raise FileProblem(path, f"is {raw.dtype}, not a whole number", column=column)
    bad = _first_bad(raw, parsed)
    if bad is not None:
        raise FileProblem(
            path, f"{raw[bad]!r} is not a whole number", line=_line(path, bad), column=column
        )
    return parsed.alias(column)


def _as_text(frame: pl.DataFrame, column: str) -> pl.Series:
    if column not in frame.columns:
        return pl.Series(column, [""] * frame.height, dtype=pl.String)
    return frame[column].cast(pl.String).fill_null("").alias(column)


def _require(frame: pl.DataFrame, path: Path, kind: str) -> None:
    missing = [c for c in REQUIRED[kind] if c not in frame.columns]
    if missing:
        raise FileProblem(path, f"missing column(s): {', '.join(missing)}")
    ids = frame["enrollment_id"].cast(pl.String)
    empty = ids.is_null() | (ids.str.len_chars() == 0)
    if empty.any():
        index = int(empty.arg_max() or 0)
        raise FileProblem(
            path, "an enrollment id is empty", line=_line(path, index), column="enrollment_id"
        )


def read_events(path: Path) -> Events:
    """The events file, checked, with unknown event types left out and counted."""
    raw = _read_raw(path)
    _require(raw, path, "events")
    frame = pl.DataFrame(
        [
            raw["enrollment_id"].cast(pl.String),
            _as_time(raw, path, "occurred_at"),
            _as_text(raw, "type"),
            _as_text(raw, "step_kind"),
            _as_int(raw, path, "duration_s")
            if "duration_s" in raw.columns
            else pl.Series("duration_s", [None] * raw.height, dtype=pl.Int64),
            _as_text(raw, "value"),
        ]
    )
    known = frame["type"].is_in(list(KNOWN_TYPES))
    unknown = frame.filter(~known)["type"].value_counts()
    return Events(
        frame=frame.filter(known),
        unknown_types={str(t): int(c) for t, c in unknown.iter_rows()},
    )


def read_enrollments(path: Path) -> pl.DataFrame:
    """The enrollments file, checked; optional columns are null when absent."""
    raw = _read_raw(path)
    _require(raw, path, "enrollments")
    columns = [
        raw["enrollment_id"].cast(pl.String),
        _as_time(raw, path, "started_at"),
        _as_text(raw, "support_level"),
    ]
    for name in ("baseline_phq9", "baseline_gad7", "ehealth_literacy"):
        columns.append(
            _as_int(raw, path, name)
            if name in raw.columns
            else pl.Series(name, [None] * raw.height, dtype=pl.Int64)
        )
    columns.append(
        _as_time(raw, path, "ended_at")
        if "ended_at" in raw.columns
        else pl.Series("ended_at", [None] * raw.height, dtype=UTC)
    )
    for name in ("end_reason", "age_band", "sex"):
        columns.append(_as_text(raw, name))
    frame = pl.DataFrame(columns)
    duplicated = frame["enrollment_id"].is_duplicated()
    if duplicated.any():
        index = int(duplicated.arg_max() or 0)
        raise FileProblem(
            path,
            f"enrollment {frame['enrollment_id'][index]!r} appears more than once",
            line=_line(path, index),
            column="enrollment_id",
        )
    return frame


def write(frame: pl.DataFrame, path: Path) -> Path:
    """One table in the format its suffix names (times as UTC ISO 8601 text in CSV)."""
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".csv":
        frame.with_columns(
            pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
            for c, dtype in frame.schema.items()
            if isinstance(dtype, pl.Datetime)
        ).write_csv(path)
    else:
        raise ValueError("write .csv or .parquet")
    return path
