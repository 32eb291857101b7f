"""`trellis model install | score | train --organization`: the commands that work on a
clinic's records, what each writes and prints, and the clear message that stops each one
when it cannot do its job."""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.core import timeutil
from trellis.engagement.models import EngagementEvent
from trellis.insights import scoring
from trellis.insights.models import RiskModel, RiskScore
from trellis.insights.risk import simulate
from trellis.insights.tests.test_scoring import enroll, trained_once
from trellis.journey.tests.factories import publish_test_pack

pytestmark = pytest.mark.django_db


def trellis(*args: str) -> str:
    """What `trellis <args>` prints."""
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A trained model's folder, as `trellis model train --out` writes it."""
    path = tmp_path / "dropout"
    trained_once().model.save(path)
    return path


def test_install_makes_a_model_folder_a_clinics_model(cast: Any, folder: Path) -> None:
    kind = trained_once().model.kind

    said = trellis("model", "install", "--model", str(folder), "--organization", "riverside")

    first = RiskModel.objects.get()
    assert said == f"Installed the {kind} model for Riverside Community Clinic ({first.pk}).\n"
    assert (first.organization, first.active, first.kind) == (cast.clinics["riverside"], True, kind)
    assert first.trained_on == "Trained elsewhere (dropout)"
    assert first.card == trained_once().model.card

    trellis(
        "model",
        "install",
        "--model",
        str(folder),
        "--organization",
        "riverside",
        "--trained-on",
        "The 2025 enrollments of a partner clinic",
    )

    assert list(RiskModel.objects.order_by("installed_at").values_list("active", "trained_on")) == [
        (False, "Trained elsewhere (dropout)"),
        (True, "The 2025 enrollments of a partner clinic"),
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["model", "install", "--model", "{folder}", "--organization", "nowhere"],
        ["model", "score", "--organization", "nowhere"],
        ["model", "train", "--organization", "nowhere"],
    ],
    ids=["install", "score", "train"],
)
def test_an_unknown_clinic_stops_the_command(cast: Any, folder: Path, command: list[str]) -> None:
    with pytest.raises(CommandError, match=r"^No clinic with the short name 'nowhere'\.$"):
        trellis(*[part.format(folder=folder) for part in command])
    assert not RiskModel.objects.exists()
    assert not RiskScore.objects.exists()


def test_install_refuses_a_folder_without_a_model_and_a_model_of_too_few(
    cast: Any, folder: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match=r"no model\.json"):
        trellis("model", "install", "--model", str(empty), "--organization", "riverside")

    model = trained_once().model
    small = dataclasses.replace(model, card={**model.card, "data": {"enrollments": 120}})
    small.save(tmp_path / "small")
    with pytest.raises(CommandError, match=r"learned from 120 enrollments; .* at least 500$"):
        trellis(
            "model", "install", "--model", str(tmp_path / "small"), "--organization", "hillside"
        )

    assert not RiskModel.objects.exists()


def test_score_runs_tonight_for_each_clinic_and_says_what_it_did(cast: Any) -> None:
    now = timeutil.now()
    enroll(cast, "patient_alex", started=now - timedelta(days=10))
    enroll(cast, "patient_blair", started=now - timedelta(days=10), version=2)
    enroll(cast, "patient_farah", ("therapist_otto",), started=now - timedelta(days=4))

    said = trellis("model", "score")

    assert sorted(said.splitlines()) == [
        "Hillside Wellbeing Service: 1 scored (1 by the rules only), 0 risk alerts, 0 not "
        "scored (no agreement to the estimate).",
        "Riverside Community Clinic: 1 scored (1 by the rules only), 0 risk alerts, 1 not "
        "scored (no agreement to the estimate).",
    ]
    assert RiskScore.objects.count() == 2

    only = trellis("model", "score", "--organization", "hillside")

    assert only.startswith("Hillside Wellbeing Service: 1 scored")
    assert len(only.splitlines()) == 1
    assert RiskScore.objects.count() == 2  # the same night: replaced


def test_train_for_a_clinic_with_too_few_enrollments_says_500_are_needed(cast: Any) -> None:
    enroll(cast, "patient_alex", started=timeutil.now() - timedelta(days=40))
    assert Enrollment.objects.count() == 1

    with pytest.raises(CommandError, match="at least 500"):
        trellis("model", "train", "--organization", "riverside")

    assert not RiskModel.objects.exists()


def test_train_needs_files_or_a_clinic() -> None:
    with pytest.raises(CommandError, match="Give --events, --enrollments and --out"):
        trellis("model", "train", "--events", "events.csv")


@pytest.mark.slow
def test_train_for_a_clinic_learns_from_its_own_records_and_installs_the_model(
    cast: Any,
) -> None:
    # 540 past enrollments of Riverside, with their events, as a simulated clinic has them.
    cohort = simulate.simulate(540, 3, seed=5)
    patient, version = cast["patient_alex"], publish_test_pack()
    riverside = cast.clinics["riverside"]
    ids = {}
    rows = []
    for person in cohort.enrollments.iter_rows(named=True):
        enrollment = Enrollment(
            patient=patient,
            organization=riverside,
            program_version=version,
            support_level=person["support_level"],
            status=EnrollmentStatus.COMPLETED,
            started_at=person["started_at"],
            ended_at=person["ended_at"],
        )
        ids[person["enrollment_id"]] = enrollment.pk
        rows.append(enrollment)
    Enrollment.objects.bulk_create(rows)
    EngagementEvent.objects.bulk_create(
        (
            EngagementEvent(
                enrollment_id=ids[event["enrollment_id"]],
                occurred_at=event["occurred_at"],
                type=event["type"],
                step_kind=event["step_kind"] or "",
                duration_s=event["duration_s"],
                value=event["value"] or "",
            )
            for event in cohort.events.iter_rows(named=True)
        ),
        batch_size=5000,
    )
    # The clinic's records read back as the same interchange tables.
    events, people = scoring.frames(rows)
    assert events.height == cohort.events.height
    assert people["started_at"].to_list() == cohort.enrollments["started_at"].to_list()

    said = trellis("model", "train", "--organization", "riverside")

    installed = RiskModel.objects.get()
    assert said == (
        f"Trained {installed.kind} on 539 enrollments of Riverside Community Clinic and "
        f"installed it ({installed.pk}).\n"
    )
    assert (installed.organization, installed.active) == (riverside, True)
    assert installed.trained_on == "Riverside Community Clinic's own records"
    assert installed.card["source"] == {"organization": "riverside"}
    assert installed.card["data"]["enrollments"] == 539
