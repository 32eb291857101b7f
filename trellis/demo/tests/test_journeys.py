"""Demo journeys: the starter programs published, patients part-way through, nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.apps import apps

from trellis.care.models import Enrollment
from trellis.demo.journeys import seed_journeys
from trellis.engagement.models import EngagementEvent
from trellis.journey.models import StepProgress

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)


def counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def test_demo_patients_are_enrolled_with_progress_and_a_second_run_adds_nothing(
    cast: Any,
) -> None:
    warnings: list[str] = []
    seed_journeys(cast, NOW, warn=warnings.append)
    published = {e.program_version.program.slug for e in Enrollment.objects.all()}
    skipped = {w.split("content/")[1].split()[0] for w in warnings}
    assert published | skipped >= {"calmer-days", "moving-forward", "better-sleep"}
    if "calmer-days" in published:
        alex = Enrollment.objects.get(patient=cast["patient_alex"])
        assert set(alex.care_team.values_list("supporter__email", flat=True)) == {
            cast["therapist_maria"].email,
            cast["coach_jordan"].email,
        }
        assert StepProgress.objects.filter(enrollment=alex, status="completed").exists()
        assert EngagementEvent.objects.filter(enrollment=alex, type="mood_checkin").count() == 3
    before = counts()
    seed_journeys(cast, NOW.replace(hour=13), warn=warnings.append)
    assert counts() == before


def test_a_missing_content_folder_is_skipped_with_a_warning(cast: Any, tmp_path: Path) -> None:
    from trellis.demo.journeys import publish_programs

    warnings: list[str] = []
    assert publish_programs(warnings.append, content_dir=tmp_path) == {}
    assert len(warnings) == 3
    assert all("no content pack" in w for w in warnings)
