"""Small hand-written event logs and enrollments in the interchange format, for the risk
tests: each row is written out so a reader can count the expected figures by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, midnight UTC
TIME = pl.Datetime("us", "UTC")
EVENT_SCHEMA: dict[str, Any] = {
    "enrollment_id": pl.String,
    "occurred_at": TIME,
    "type": pl.String,
    "step_kind": pl.String,
    "duration_s": pl.Int64,
    "value": pl.String,
}
ENROLLMENT_SCHEMA: dict[str, Any] = {
    "enrollment_id": pl.String,
    "started_at": TIME,
    "support_level": pl.String,
    "baseline_phq9": pl.Int64,
    "baseline_gad7": pl.Int64,
    "ehealth_literacy": pl.Int64,
    "ended_at": TIME,
    "end_reason": pl.String,
    "age_band": pl.String,
    "sex": pl.String,
}


def at(day: float, hour: float = 0.0, *, start: datetime = START) -> datetime:
    """`day` days and `hour` hours after `start`."""
    return start + timedelta(days=day, hours=hour)


def enrollment(
    enrollment_id: str,
    *,
    started_at: datetime = START,
    support_level: str = "coached",
    baseline_phq9: int | None = None,
    baseline_gad7: int | None = None,
    ehealth_literacy: int | None = None,
    ended_at: datetime | None = None,
    end_reason: str = "",
    age_band: str = "",
    sex: str = "",
) -> dict[str, Any]:
    return {
        "enrollment_id": enrollment_id,
        "started_at": started_at,
        "support_level": support_level,
        "baseline_phq9": baseline_phq9,
        "baseline_gad7": baseline_gad7,
        "ehealth_literacy": ehealth_literacy,
        "ended_at": ended_at,
        "end_reason": end_reason,
        "age_band": age_band,
        "sex": sex,
    }


def enrollments(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ENROLLMENT_SCHEMA)


def event(
    enrollment_id: str,
    occurred_at: datetime,
    type_: str,
    value: str = "",
    *,
    step_kind: str = "",
    duration_s: int | None = None,
) -> dict[str, Any]:
    return {
        "enrollment_id": enrollment_id,
        "occurred_at": occurred_at,
        "type": type_,
        "step_kind": step_kind,
        "duration_s": duration_s,
        "value": value,
    }


def events(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=EVENT_SCHEMA)


def write_text(path: Path, text: str) -> Path:
    """A hand-written file, its lines dedented."""
    path.write_text("\n".join(line.strip() for line in text.strip().splitlines()) + "\n")
    return path
