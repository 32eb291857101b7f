"""`trellis events export`: the interchange format, read back exactly, in CSV and Parquet."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment
from trellis.care.services import end_enrollment
from trellis.journey import services
from trellis.journey.management.commands import events as export_command
from trellis.programs.models import Step


def act(enrollment: Enrollment, steps: dict[str, Step], start: datetime) -> None:
    alex = enrollment.patient
    services.complete_step(
        enrollment,
        steps["what-stress-does"],
        actor=alex,
        client_id=uuid.uuid4(),
        response={},
        duration_s=240,
        now=start,
    )
    services.rate_step(
        enrollment,
        steps["what-stress-does"],
        actor=alex,
        rating=5,
        client_id=uuid.uuid4(),
        now=start + timedelta(seconds=5),
    )
    services.check_in_mood(
        enrollment,
        actor=alex,
        score=7,
        note="",
        client_id=uuid.uuid4(),
        now=start + timedelta(days=2, microseconds=250),
    )


def export(tmp_path: Path, *args: str) -> str:
    out = StringIO()
    call_command("events", "export", "--out", str(tmp_path), *args, stdout=out)
    return out.getvalue()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_export_reads_back_row_for_row(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime, tmp_path: Path
) -> None:
    act(alex_enrollment, steps, journey_start)
    message = export(tmp_path)
    assert "Wrote 3 events and 1 enrollments" in message
    events = read_csv(tmp_path / "events.csv")
    assert list(events[0]) == export_command.EVENT_COLUMNS
    eid = str(alex_enrollment.pk)
    assert events == [
        {
            "enrollment_id": eid,
            "occurred_at": "2026-03-02T09:00:00Z",
            "type": "step_completed",
            "step_kind": "lesson",
            "duration_s": "240",
            "value": "",
        },
        {
            "enrollment_id": eid,
            "occurred_at": "2026-03-02T09:00:05Z",
            "type": "exercise_rated",
            "step_kind": "lesson",
            "duration_s": "",
            "value": "5",
        },
        {
            "enrollment_id": eid,
            "occurred_at": "2026-03-04T09:00:00.000250Z",
            "type": "mood_checkin",
            "step_kind": "",
            "duration_s": "",
            "value": "7",
        },
    ]
    enrollments = read_csv(tmp_path / "enrollments.csv")
    assert enrollments == [
        {
            "enrollment_id": eid,
            "started_at": "2026-03-02T09:00:00Z",
            "support_level": "therapist_assisted",
            "baseline_phq9": "",
            "baseline_gad7": "",
            "ended_at": "",
            "end_reason": "",
        }
    ]
    assert AuditEvent.objects.filter(action="events.export").count() == 1


def test_an_ended_enrollment_exports_how_it_ended_never_the_words_typed(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime, tmp_path: Path
) -> None:
    act(alex_enrollment, steps, journey_start)
    end_enrollment(
        alex_enrollment,
        status="discharged",
        reason="Moved to inpatient care after a crisis",
        actor=None,
        now=journey_start + timedelta(days=3),
    )
    export(tmp_path)
    [row] = read_csv(tmp_path / "enrollments.csv")
    assert row["ended_at"] == "2026-03-05T09:00:00Z"
    assert row["end_reason"] == "discharged"
    assert "inpatient" not in (tmp_path / "enrollments.csv").read_text()


def test_parquet_export_has_the_same_rows_with_types(
    alex_enrollment: Enrollment, steps: dict[str, Step], journey_start: datetime, tmp_path: Path
) -> None:
    import polars as pl

    act(alex_enrollment, steps, journey_start)
    export(tmp_path, "--format", "parquet")
    events = pl.read_parquet(tmp_path / "events.parquet")
    assert events.columns == export_command.EVENT_COLUMNS
    assert events["type"].to_list() == ["step_completed", "exercise_rated", "mood_checkin"]
    assert events["duration_s"].to_list() == [240, None, None]
    assert events["occurred_at"].to_list()[0] == journey_start
    assert events["occurred_at"].to_list()[2] == journey_start + timedelta(days=2, microseconds=250)
    enrollments = pl.read_parquet(tmp_path / "enrollments.parquet")
    assert enrollments.columns == export_command.ENROLLMENT_COLUMNS
    assert enrollments["baseline_phq9"].to_list() == [None]
    assert enrollments["ended_at"].to_list() == [None]
    assert not list(tmp_path.glob(".*.part"))


def test_export_filters_by_clinic_and_date_and_streams_in_batches(
    alex_enrollment: Enrollment,
    steps: dict[str, Step],
    journey_start: datetime,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    act(alex_enrollment, steps, journey_start)
    monkeypatch.setattr(export_command, "BATCH", 2)
    export(tmp_path, "--since", "2026-03-03")
    assert [e["type"] for e in read_csv(tmp_path / "events.csv")] == ["mood_checkin"]
    assert len(read_csv(tmp_path / "enrollments.csv")) == 1
    export(tmp_path, "--organization", "hillside")
    assert read_csv(tmp_path / "events.csv") == []
    assert read_csv(tmp_path / "enrollments.csv") == []
    export(tmp_path, "--organization", "riverside")
    assert len(read_csv(tmp_path / "events.csv")) == 3
    with pytest.raises(CommandError, match="No clinic"):
        export(tmp_path, "--organization", "nowhere")
