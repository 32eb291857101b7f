"""Reading the interchange format: CSV and Parquet read alike, and a file that cannot be
used is refused with the file, the line and the column of the problem."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from trellis.insights.risk import interchange
from trellis.insights.tests.risk_frames import (
    START,
    at,
    enrollment,
    enrollments,
    event,
    events,
    write_text,
)

ALEX_LOG = events(
    [
        event("alex", at(0, 9), "login"),
        event("alex", at(0, 9.5), "step_completed", "12", step_kind="grounding", duration_s=340),
        event("alex", at(1, 20), "reminder_sent", "email"),
        event("007", at(2, 8.25), "questionnaire_submitted", "PHQ-9:14", step_kind="questionnaire"),
    ]
)
PEOPLE = enrollments(
    enrollment("alex", baseline_phq9=15, baseline_gad7=9, age_band="25-34", sex="female"),
    enrollment("007", support_level="self_guided", ended_at=at(30), end_reason="discharged"),
)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_events_and_enrollments_read_back_as_written(tmp_path: Path, suffix: str) -> None:
    read = interchange.read_events(interchange.write(ALEX_LOG, tmp_path / f"events.{suffix}"))
    assert_frame_equal(read.frame, ALEX_LOG)
    assert read.unknown_types == {}
    people = interchange.read_enrollments(
        interchange.write(PEOPLE, tmp_path / f"enrollments.{suffix}")
    )
    assert_frame_equal(people, PEOPLE, check_column_order=False)


def test_a_hand_written_csv_reads_times_as_utc_and_ids_as_text(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,occurred_at,type,step_kind,duration_s,value
        0042,2026-03-02T09:00:05Z,login,,,
        0042,2026-03-02T09:10:05.250Z,step_completed,lesson,600,
        0042,2026-03-02T09:20:00.123456Z,mood_checkin,,,7
        """,
    )
    frame = interchange.read_events(path).frame
    assert frame["enrollment_id"].to_list() == ["0042"] * 3  # leading zeros kept
    assert frame["occurred_at"].dtype == pl.Datetime("us", "UTC")
    assert frame["occurred_at"].to_list() == [
        START.replace(hour=9, second=5),
        START.replace(hour=9, minute=10, second=5, microsecond=250_000),
        START.replace(hour=9, minute=20, microsecond=123_456),
    ]
    assert frame["duration_s"].to_list() == [None, 600, None]
    assert frame["step_kind"].to_list() == ["", "lesson", ""]
    assert frame["value"].to_list() == ["", "", "7"]


def test_parquet_times_without_a_zone_are_read_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pl.DataFrame(
        {
            "enrollment_id": ["alex"],
            "occurred_at": [datetime(2026, 3, 2, 9)],
            "type": ["login"],
        }
    ).write_parquet(path)
    frame = interchange.read_events(path).frame
    assert frame["occurred_at"].to_list() == [at(0, 9)]
    assert frame["duration_s"].to_list() == [None]


def test_a_missing_required_column_is_named(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,step_kind,value
        alex,,
        """,
    )
    with pytest.raises(interchange.FileProblem) as problem:
        interchange.read_events(path)
    assert str(problem.value) == f"{path}: missing column(s): occurred_at, type"


def test_enrollments_without_a_support_level_are_refused(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "enrollments.csv",
        """
        enrollment_id,started_at
        alex,2026-03-02T00:00:00Z
        """,
    )
    with pytest.raises(interchange.FileProblem, match="missing column\\(s\\): support_level"):
        interchange.read_enrollments(path)


def test_a_bad_time_names_the_file_the_line_and_the_column(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,occurred_at,type,step_kind,duration_s,value
        alex,2026-03-02T09:00:00Z,login,,,
        alex,2026-03-02T09:05:00Z,login,,,
        alex,yesterday,login,,,
        """,
    )
    with pytest.raises(interchange.FileProblem) as problem:
        interchange.read_events(path)
    assert str(problem.value) == (
        f"{path}, line 4, column occurred_at: 'yesterday' is not a UTC ISO 8601 time"
    )
    assert (problem.value.line, problem.value.column) == (4, "occurred_at")


def test_a_bad_duration_names_the_file_the_line_and_the_column(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,occurred_at,type,step_kind,duration_s,value
        alex,2026-03-02T09:00:00Z,step_completed,lesson,12.5,
        """,
    )
    with pytest.raises(interchange.FileProblem) as problem:
        interchange.read_events(path)
    assert str(problem.value) == f"{path}, line 2, column duration_s: '12.5' is not a whole number"


def test_a_bad_baseline_score_in_enrollments_is_refused(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "enrollments.csv",
        """
        enrollment_id,started_at,support_level,baseline_phq9
        alex,2026-03-02T00:00:00Z,coached,14
        blair,2026-03-02T00:00:00Z,coached,high
        """,
    )
    with pytest.raises(interchange.FileProblem) as problem:
        interchange.read_enrollments(path)
    assert str(problem.value) == (
        f"{path}, line 3, column baseline_phq9: 'high' is not a whole number"
    )


def test_a_bad_time_in_parquet_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pl.DataFrame(
        {
            "enrollment_id": ["alex", "alex"],
            "occurred_at": ["2026-03-02T09:00:00Z", "soon"],
            "type": ["login", "login"],
        }
    ).write_parquet(path)
    with pytest.raises(interchange.FileProblem) as problem:
        interchange.read_events(path)
    assert str(problem.value) == (
        f"{path}, row 2, column occurred_at: 'soon' is not a UTC ISO 8601 time"
    )


def test_an_empty_enrollment_id_is_refused(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,occurred_at,type
        alex,2026-03-02T09:00:00Z,login
        ,2026-03-02T09:00:00Z,login
        """,
    )
    with pytest.raises(interchange.FileProblem, match=r"line 3, column enrollment_id: .* empty"):
        interchange.read_events(path)


def test_unknown_event_types_are_left_out_and_counted(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,occurred_at,type
        alex,2026-03-02T09:00:00Z,login
        alex,2026-03-02T09:01:00Z,heartbeat
        alex,2026-03-02T09:02:00Z,app_crashed
        alex,2026-03-02T09:03:00Z,heartbeat
        alex,2026-03-02T09:04:00Z,mood_checkin
        """,
    )
    read = interchange.read_events(path)
    assert read.frame["type"].to_list() == ["login", "mood_checkin"]
    assert read.unknown_types == {"heartbeat": 2, "app_crashed": 1}


def test_an_enrollment_listed_twice_is_refused(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "enrollments.csv",
        """
        enrollment_id,started_at,support_level
        alex,2026-03-02T00:00:00Z,coached
        blair,2026-03-02T00:00:00Z,coached
        alex,2026-03-09T00:00:00Z,coached
        """,
    )
    with pytest.raises(interchange.FileProblem, match="enrollment 'alex' appears more than once"):
        interchange.read_enrollments(path)


def test_optional_enrollment_columns_are_empty_when_absent(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "enrollments.csv",
        """
        enrollment_id,started_at,support_level,baseline_phq9,baseline_gad7,ended_at,end_reason
        alex,2026-03-02T00:00:00Z,coached,14,,,
        """,
    )
    people = interchange.read_enrollments(path)
    alex = people.row(0, named=True)
    assert alex["ehealth_literacy"] is None
    assert alex["age_band"] == ""
    assert alex["sex"] == ""
    assert alex["baseline_phq9"] == 14
    assert alex["baseline_gad7"] is None
    assert alex["ended_at"] is None
    assert alex["end_reason"] == ""
    assert people.schema["ehealth_literacy"] == pl.Int64


def test_only_the_three_required_enrollment_columns_are_needed(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "enrollments.csv",
        """
        enrollment_id,started_at,support_level
        alex,2026-03-02T00:00:00Z,therapist_assisted
        """,
    )
    alex = interchange.read_enrollments(path).row(0, named=True)
    assert alex["started_at"] == START
    assert alex["support_level"] == "therapist_assisted"
    assert alex["baseline_phq9"] is None
    assert alex["ended_at"] is None


def test_a_missing_file_or_another_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(interchange.FileProblem, match="no such file"):
        interchange.read_events(tmp_path / "events.csv")
    other = write_text(tmp_path / "events.json", "[]")
    with pytest.raises(interchange.FileProblem, match=r"neither \.csv nor \.parquet"):
        interchange.read_events(other)
    with pytest.raises(ValueError, match=r"write \.csv or \.parquet"):
        interchange.write(ALEX_LOG, tmp_path / "events.json")


def test_a_file_that_is_not_parquet_is_refused_without_a_traceback(tmp_path: Path) -> None:
    path = write_text(tmp_path / "events.parquet", "enrollment_id,occurred_at,type")
    with pytest.raises(interchange.FileProblem, match="cannot be read"):
        interchange.read_events(path)
