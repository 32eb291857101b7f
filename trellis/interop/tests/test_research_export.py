"""The research export on the database: only patients who agreed to research, refused below
the clinic's k, written as CSV or Parquet, audited without ids; the command and the page."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from trellis.audit.models import AuditEvent
from trellis.care.consent import withdraw_consent
from trellis.care.models import Consent, ConsentKind, SupportLevel
from trellis.interop.models import DataRightsSettings
from trellis.interop.research.export import ExportRefused, consenting_patients, export_research
from trellis.interop.research.files import Format, frames, zip_archive
from trellis.interop.tests.rights_factories import (
    MARKER,
    PHONE,
    T0,
    agree_to_research,
    enroll,
    full_record,
)

NOW = T0 + timedelta(days=30)


@pytest.fixture
def riverside(cast: Any) -> Any:
    clinic = cast.clinics["riverside"]
    DataRightsSettings.objects.create(organization=clinic, research_k=2)
    return clinic


def _three_consenting(cast: Any) -> None:
    full_record(cast, discharged_at=None)  # alex, research consent given
    for name in ("patient_blair", "patient_emery"):
        enroll(cast, name, level=SupportLevel.THERAPIST_ASSISTED)
        agree_to_research(cast[name])
    enroll(cast, "patient_casey", supporters=(), level=SupportLevel.SELF_GUIDED)  # no consent


@pytest.mark.django_db
def test_only_patients_with_a_research_consent_in_force_are_exported(
    cast: Any, riverside: Any
) -> None:
    _three_consenting(cast)
    assert consenting_patients(riverside) == {
        cast[n].pk for n in ("patient_alex", "patient_blair", "patient_emery")
    }
    consent = Consent.objects.get(user=cast["patient_emery"], document__kind=ConsentKind.RESEARCH)
    withdraw_consent(consent, actor=cast["patient_emery"], now=NOW)
    export = export_research(riverside, by=cast["researcher_lee"], fmt=Format.CSV, now=NOW)
    assert export.data.patients == 2
    assert {r["support_level"] for r in export.data.enrollments} == {"therapist_assisted"}
    assert export.data.scores and export.data.events and export.data.moods


@pytest.mark.django_db
def test_the_files_carry_no_identifier_and_no_free_text(cast: Any, riverside: Any) -> None:
    _three_consenting(cast)
    export = export_research(
        riverside, by=cast["researcher_lee"], fmt=Format.CSV, now=NOW, rng=random.Random(5)
    )
    archive = zipfile.ZipFile(io.BytesIO(zip_archive(export.data, Format.CSV, k=2)))
    assert sorted(archive.namelist()) == [
        "README.txt",
        "enrollments.csv",
        "events.csv",
        "moods.csv",
        "scores.csv",
    ]
    text = "".join(archive.read(n).decode() for n in archive.namelist() if n.endswith(".csv"))
    forbidden = [MARKER, PHONE, "MRN-55501", "Alex", "Rivera", "@"]
    forbidden += [str(cast[n].pk) for n in ("patient_alex", "patient_blair", "patient_emery")]
    forbidden += [str(e) for e in cast["patient_alex"].enrollments.values_list("pk", flat=True)]
    assert [f for f in forbidden if f in text] == []
    header = archive.read("enrollments.csv").decode().splitlines()[0]
    assert (
        header == "patient,enrollment,program,support_level,status,started_on,ended_on,age_band,sex"
    )


@pytest.mark.django_db
def test_parquet_files_keep_the_column_types(cast: Any, riverside: Any) -> None:
    _three_consenting(cast)
    export = export_research(riverside, by=cast["admin_avery"], fmt=Format.PARQUET, now=NOW)
    archive = zipfile.ZipFile(io.BytesIO(zip_archive(export.data, Format.PARQUET, k=2)))
    events = pl.read_parquet(io.BytesIO(archive.read("events.parquet")))
    assert events.schema["occurred_at"] == pl.Datetime("us", "UTC")
    enrollments = pl.read_parquet(io.BytesIO(archive.read("enrollments.parquet")))
    assert enrollments.schema["started_on"] == pl.Date
    assert enrollments.height == frames(export.data)["enrollments"].height == 3


@pytest.mark.django_db
def test_an_export_below_k_is_refused_naming_the_group_and_audited(
    cast: Any, riverside: Any
) -> None:
    _three_consenting(cast)
    enroll(cast, "patient_devon", supporters=("coach_jordan",), level=SupportLevel.COACHED)
    agree_to_research(cast["patient_devon"])
    with pytest.raises(ExportRefused) as refused:
        export_research(riverside, by=cast["researcher_lee"], fmt=Format.CSV, now=NOW)
    assert [(g.values["support_level"], g.patients) for g in refused.value.groups] == [
        ("coached", 1)
    ]
    event = AuditEvent.objects.get(action="research.export_refused")
    assert event.details == {"format": "csv", "k": 2, "rare_groups": 1}


@pytest.mark.django_db
def test_no_consenting_patient_refuses(cast: Any, riverside: Any) -> None:
    with pytest.raises(ExportRefused):
        export_research(riverside, by=cast["researcher_lee"], fmt=Format.CSV, now=NOW)


@pytest.mark.django_db
def test_an_export_is_audited_with_counts_and_no_ids(cast: Any, riverside: Any) -> None:
    _three_consenting(cast)
    export_research(riverside, by=cast["researcher_lee"], fmt=Format.CSV, now=NOW)
    event = AuditEvent.objects.get(action="research.export")
    assert event.actor_id == cast["researcher_lee"].pk
    assert event.patient_id is None
    assert event.details["patients"] == 3 and event.details["k"] == 2
    assert str(cast["patient_alex"].pk) not in str(event.details)


@pytest.mark.django_db
def test_the_command_writes_one_file_per_table(cast: Any, riverside: Any, tmp_path: Path) -> None:
    _three_consenting(cast)
    out = io.StringIO()
    call_command(
        "research",
        "export",
        "--clinic",
        "riverside",
        "--by",
        cast["researcher_lee"].email,
        "--format",
        "parquet",
        "--out",
        str(tmp_path),
        stdout=out,
    )
    assert "3 patients" in out.getvalue()
    assert pl.read_parquet(tmp_path / "moods.parquet").columns == [
        "enrollment",
        "score",
        "recorded_at",
    ]
    with pytest.raises(CommandError, match="not a researcher or admin"):
        call_command(
            "research",
            "export",
            "--clinic",
            "riverside",
            "--by",
            cast["therapist_maria"].email,
            "--out",
            str(tmp_path),
        )
    DataRightsSettings.objects.filter(organization=riverside).update(research_k=50)
    with pytest.raises(CommandError, match="fewer than 50"):
        call_command(
            "research",
            "export",
            "--clinic",
            "riverside",
            "--by",
            cast["admin_avery"].email,
            "--out",
            str(tmp_path),
        )
