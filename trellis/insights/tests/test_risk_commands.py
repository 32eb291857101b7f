"""`trellis simulate` and `trellis model train | predict | evaluate | card` on files: what
each writes and prints, and that bad input stops it with a clear message and writes
nothing."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.insights.risk import features, interchange, learn
from trellis.insights.tests.risk_frames import (
    at,
    enrollment,
    enrollments,
    event,
    events,
    write_text,
)

FILES = "--events {events} --enrollments {enrollments}"


def trellis(command: str, **values: Any) -> str:
    """What `trellis <command>` prints. The command is split on spaces first, then each
    `{name}` in it is filled from `values`, so a path may hold any character."""
    out = io.StringIO()
    call_command(*[part.format(**values) for part in command.split()], stdout=out)
    return out.getvalue()


@dataclass
class Clinic:
    """A simulated clinic's files and a model trained on them."""

    folder: Path
    trained: str  # what `model train` printed

    @property
    def files(self) -> dict[str, Path]:
        return {
            "events": self.folder / "events.parquet",
            "enrollments": self.folder / "enrollments.parquet",
            "truth": self.folder / "truth.parquet",
            "model": self.folder / "models" / "dropout",
        }


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    """1,200 simulated patients over 8 weeks, and the model trained on them (shared: training
    is the slow part)."""
    folder = tmp_path_factory.mktemp("clinic")
    trellis("simulate --patients 1200 --weeks 8 --seed 17 --out {out}", out=folder)
    trained = trellis(f"model train {FILES} --out {{model}}", **Clinic(folder, trained="").files)
    return Clinic(folder, trained)


# --- trellis simulate --------------------------------------------------------------------


def test_simulate_writes_events_enrollments_and_truth(tmp_path: Path) -> None:
    said = trellis("simulate --patients 40 --weeks 3 --seed 2 --out {out}", out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "enrollments.parquet",
        "events.parquet",
        "truth.parquet",
    ]
    assert said.startswith("Simulated 40 enrollments and ")
    assert interchange.read_enrollments(tmp_path / "enrollments.parquet").height == 40
    read = interchange.read_events(tmp_path / "events.parquet")
    assert read.unknown_types == {}
    assert read.frame["enrollment_id"].n_unique() == 40
    assert pl.read_parquet(tmp_path / "truth.parquet").height == 40


def test_simulate_writes_csv_when_asked(tmp_path: Path) -> None:
    trellis("simulate --patients 10 --weeks 2 --seed 2 --out {out} --format csv", out=tmp_path)
    assert (
        (tmp_path / "events.csv")
        .read_text()
        .startswith("enrollment_id,occurred_at,type,step_kind,duration_s,value\n")
    )
    assert interchange.read_enrollments(tmp_path / "enrollments.csv").height == 10


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("--patients 0 --weeks 4", "--patients and --weeks are 1 or more"),
        ("--patients 10 --weeks 53", "--weeks is at most 52"),
    ],
)
def test_simulate_refuses_an_impossible_cohort(tmp_path: Path, size: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        trellis(f"simulate {size} --seed 1 --out {{out}}", out=tmp_path / "cohort")
    assert not (tmp_path / "cohort").exists()


def test_simulate_needs_somewhere_to_write() -> None:
    with pytest.raises(CommandError, match="--out DIR"):
        trellis("simulate --patients 10 --weeks 2 --seed 1")


# --- trellis model train and card -----------------------------------------------------------


def test_train_writes_the_model_and_its_card(clinic: Clinic) -> None:
    folder = clinic.files["model"]
    assert sorted(p.name for p in folder.iterdir()) in (
        ["card.md", "model.json"],
        ["card.md", "model.json", "trees.txt"],
    )
    model = learn.Model.load(folder)
    assert clinic.trained.startswith(f"Trained {model.kind} on 1200 enrollments; held-out AUC ")
    assert clinic.trained.rstrip().endswith(f"Model and card in {folder}.")
    assert (folder / "card.md").read_text().startswith("# Model card: dropout risk")
    # Nothing half-written is left beside it.
    assert [p.name for p in folder.parent.iterdir()] == ["dropout"]


def test_card_prints_the_model_card(clinic: Clinic) -> None:
    said = trellis("model card --model {model}", **clinic.files)
    assert said == (clinic.files["model"] / "card.md").read_text()


def test_train_on_too_few_enrollments_writes_no_model(tmp_path: Path) -> None:
    trellis("simulate --patients 300 --weeks 6 --seed 4 --out {out}", out=tmp_path)
    with pytest.raises(CommandError, match="a model needs at least 500"):
        trellis(
            f"model train {FILES} --out {{out}}",
            events=tmp_path / "events.parquet",
            enrollments=tmp_path / "enrollments.parquet",
            out=tmp_path / "models" / "dropout",
        )
    assert not (tmp_path / "models").exists()


def test_train_refuses_a_file_missing_a_column(tmp_path: Path) -> None:
    events_csv = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,occurred_at,type
        alex,2026-03-02T09:00:00Z,login
        """,
    )
    enrollments_csv = write_text(
        tmp_path / "enrollments.csv",
        """
        enrollment_id,started_at
        alex,2026-03-02T00:00:00Z
        """,
    )
    with pytest.raises(CommandError) as problem:
        trellis(
            f"model train {FILES} --out {{out}}",
            events=events_csv,
            enrollments=enrollments_csv,
            out=tmp_path / "model",
        )
    assert str(problem.value) == f"{enrollments_csv}: missing column(s): support_level"
    assert not (tmp_path / "model").exists()


def test_days_must_be_a_list_of_whole_days(clinic: Clinic, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--days"):
        trellis(f"model train {FILES} --out {{out}} --days 7,x", **clinic.files, out=tmp_path)
    with pytest.raises(CommandError, match="--days"):
        trellis(f"model evaluate --model {{model}} {FILES} --days 0", **clinic.files)
    assert list(tmp_path.iterdir()) == []


# --- trellis model predict -----------------------------------------------------------------


def test_predict_writes_one_row_per_enrollment_in_the_program(
    clinic: Clinic, tmp_path: Path
) -> None:
    out = tmp_path / "preds.csv"
    said = trellis(
        f"model predict --model {{model}} {FILES} --as-of-day 14 --out {{out}}",
        **clinic.files,
        out=out,
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "enrollment_id,as_of_day,risk,reasons"
    people = interchange.read_enrollments(clinic.files["enrollments"])
    end = interchange.read_events(clinic.files["events"]).frame["occurred_at"].max()
    expected = (
        features.scored(people, 14)
        .filter(pl.col("started_at") + pl.duration(days=14) <= pl.lit(end))["enrollment_id"]
        .to_list()
    )
    preds = pl.read_csv(out, schema_overrides={"enrollment_id": pl.String, "reasons": pl.String})
    assert sorted(preds["enrollment_id"]) == sorted(expected)
    assert len(lines) == len(expected) + 1
    assert set(preds["as_of_day"]) == {14}
    assert preds["risk"].is_between(0, 1).all()
    assert said == f"Scored {len(expected)} enrollments at day 14 into {out}.\n"
    assert [p.name for p in tmp_path.iterdir()] == ["preds.csv"]


def test_unknown_event_types_are_reported_and_not_fatal(clinic: Clinic, tmp_path: Path) -> None:
    log = interchange.read_events(clinic.files["events"]).frame
    first = log.row(0, named=True)
    extra = pl.DataFrame(
        [first | {"type": "heartbeat"}, first | {"type": "heartbeat"}, first | {"type": "crash"}],
        schema=log.schema,
    )
    interchange.write(pl.concat([log, extra]), tmp_path / "events.parquet")
    out = tmp_path / "preds.csv"
    said = trellis(
        f"model predict --model {{model}} {FILES} --as-of-day 7 --out {{out}}",
        **clinic.files | {"events": tmp_path / "events.parquet"},
        out=out,
    )
    assert said.splitlines()[0] == (
        "Ignored 3 events of types the model does not know: crash (1), heartbeat (2)."
    )
    assert out.exists()


def test_events_of_enrollments_not_in_the_file_are_reported(clinic: Clinic, tmp_path: Path) -> None:
    log = interchange.read_events(clinic.files["events"]).frame
    stranger = log.head(2).with_columns(enrollment_id=pl.lit("not-enrolled"))
    interchange.write(pl.concat([log, stranger]), tmp_path / "events.parquet")
    said = trellis(
        f"model predict --model {{model}} {FILES} --as-of-day 7 --out {{out}}",
        **clinic.files | {"events": tmp_path / "events.parquet"},
        out=tmp_path / "preds.csv",
    )
    assert "Ignored 2 events of enrollments not in the enrollments file." in said


def test_predict_refuses_a_bad_time_with_its_line(clinic: Clinic, tmp_path: Path) -> None:
    events_csv = write_text(
        tmp_path / "events.csv",
        """
        enrollment_id,occurred_at,type
        alex,2026-03-02T09:00:00Z,login
        alex,2 March,login
        """,
    )
    out = tmp_path / "preds.csv"
    with pytest.raises(CommandError) as problem:
        trellis(
            f"model predict --model {{model}} {FILES} --as-of-day 7 --out {{out}}",
            **clinic.files | {"events": events_csv},
            out=out,
        )
    assert str(problem.value) == (
        f"{events_csv}, line 3, column occurred_at: '2 March' is not a UTC ISO 8601 time"
    )
    assert not out.exists()


def test_predict_beyond_the_data_writes_nothing(clinic: Clinic, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="day 400 is beyond the data"):
        trellis(
            f"model predict --model {{model}} {FILES} --as-of-day 400 --out {{out}}",
            **clinic.files,
            out=tmp_path / "preds.csv",
        )
    assert list(tmp_path.iterdir()) == []


def test_predict_without_a_model_says_how_to_train_one(clinic: Clinic, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"no model\.json \(train one with `trellis model"):
        trellis(
            f"model predict --model {{model}} {FILES} --as-of-day 7 --out {{out}}",
            **clinic.files | {"model": tmp_path / "no-model"},
            out=tmp_path / "preds.csv",
        )
    assert list(tmp_path.iterdir()) == []


# --- trellis model evaluate ----------------------------------------------------------------


def test_evaluate_prints_each_day_beside_the_simulators_oracle(clinic: Clinic) -> None:
    said = trellis(f"model evaluate --model {{model}} {FILES}", **clinic.files)
    assert said.startswith("Model: ")
    days = [line for line in said.splitlines() if line.startswith("day ")]
    assert [line.split(":")[0] for line in days] == ["day 7", "day 14", "day 28"]
    for line in days:
        assert " enrollments, " in line and "; AUC 0." in line and ", ECE 0." in line
        assert "; the simulator's oracle: AUC 0." in line
    assert said.count("\n  by support level: coached ") == 3
    assert said.count("\n  calibration (predicted->observed): ") == 3


def test_evaluate_without_a_truth_file_leaves_the_oracle_out(
    clinic: Clinic, tmp_path: Path
) -> None:
    shutil.copy(clinic.files["events"], tmp_path / "events.parquet")
    said = trellis(
        f"model evaluate --model {{model}} {FILES} --days 14",
        **clinic.files | {"events": tmp_path / "events.parquet"},
    )
    days = [line for line in said.splitlines() if line.startswith("day ")]
    assert len(days) == 1 and days[0].startswith("day 14: ")
    assert "oracle" not in said


def test_evaluate_says_so_when_a_day_has_one_outcome_only(clinic: Clinic, tmp_path: Path) -> None:
    """Everyone acts in the 14 days after day 7: there is no AUC to give, and no crash."""
    people = ["alex", "blair", "casey"]
    log = events([event(p, at(day, 9), "login") for p in people for day in range(25)])
    interchange.write(log, tmp_path / "events.csv")
    interchange.write(enrollments(*map(enrollment, people)), tmp_path / "enrollments.csv")
    said = trellis(
        f"model evaluate --model {{model}} {FILES} --days 7",
        model=clinic.files["model"],
        events=tmp_path / "events.csv",
        enrollments=tmp_path / "enrollments.csv",
    )
    (day_7,) = [line for line in said.splitlines() if line.startswith("day 7: ")]
    assert day_7.startswith("day 7: 3 enrollments, 0.0% with no activity in the next 14 days; ")
    assert "AUC - (95% - to -)" in day_7


def test_evaluate_beyond_the_data_is_refused(clinic: Clinic) -> None:
    with pytest.raises(CommandError, match="day 300 is beyond the data"):
        trellis(f"model evaluate --model {{model}} {FILES} --days 300", **clinic.files)


def test_evaluate_refuses_a_truth_file_of_another_cohort(clinic: Clinic, tmp_path: Path) -> None:
    trellis("simulate --patients 20 --weeks 8 --seed 99 --out {out}", out=tmp_path)
    with pytest.raises(CommandError, match="does not describe every enrollment"):
        trellis(
            f"model evaluate --model {{model}} {FILES} --truth {{truth}} --days 7",
            **clinic.files | {"truth": tmp_path / "truth.parquet"},
        )
