"""Exporting a trial: every decision point of a clinic as CSV or Parquet, with the
columns an analysis needs, and the export in the audit trail."""

from __future__ import annotations

import csv
import stat
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.audit.models import AuditEvent
from trellis.engagement.events import emit
from trellis.nudges import decisions, trials
from trellis.nudges.models import DecisionPoint, OutreachSettings, RuleKind
from trellis.nudges.tests.decision_helpers import enroll_persona, only_rule, prefer, seeded

pytestmark = pytest.mark.django_db
NINE_NY = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def a_small_trial(cast: Any) -> None:
    """Alex and Blair, six days of the exercise rule at p = 0.5, outcomes recorded."""
    alex = enroll_persona(cast)
    enroll_persona(cast, "patient_blair")
    for user in ("patient_alex", "patient_blair"):
        prefer(cast[user], reminder_time=time(9, 0))
    riverside = cast.clinics["riverside"]
    only_rule(riverside, RuleKind.EXERCISE_TODAY, send_probability=Decimal("0.5"))
    OutreachSettings.objects.filter(organization=riverside).update(daily_cap=20, weekly_cap=50)
    draws = seeded(5)
    for day in range(6):
        decisions.evaluate_rules(NINE_NY + timedelta(days=day), draws=draws)
    emit(alex, "login", at=NINE_NY + timedelta(hours=2))
    decisions.record_proximal_outcomes(NINE_NY + timedelta(days=3))


def test_the_csv_export_has_one_row_per_decision_point(cast: Any, tmp_path: Path) -> None:
    a_small_trial(cast)
    out = StringIO()
    target = tmp_path / "trial" / "decisions.csv"
    call_command("nudges", "export", "--clinic", "riverside", "--out", str(target), stdout=out)
    assert "Wrote 12 decision points of riverside" in out.getvalue()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == trials.COLUMNS
    first = rows[0]
    point = DecisionPoint.objects.order_by("pk").first()
    assert point is not None
    assert first["decision_id"] == str(point.pk)
    assert first["enrollment_id"] == str(point.enrollment_id)
    assert first["rule_kind"] == "exercise_today"
    assert first["program_key"] == "test-steady-steps"
    assert first["decided_at"] == "2026-03-03T14:00:00Z"
    assert first["period"] == "2026-03-03"
    assert first["available"] == "true" and first["probability"] == "0.500"
    assert float(first["draw"]) == point.draw
    assert first["action"] == point.action
    recorded = [r for r in rows if r["outcome_recorded_at"]]
    assert len(recorded) == 6  # the first three days have had their 24 hours
    assert {r["outcome_active"] for r in recorded} == {"true", "false"}
    assert all(r["outcome_active"] == "" for r in rows if not r["outcome_recorded_at"])
    event = AuditEvent.objects.get(action="nudges.export")
    assert event.details == {"format": "csv", "rows": 12, "what": "decision_points"}


def test_the_parquet_export_keeps_the_types(cast: Any, tmp_path: Path) -> None:
    a_small_trial(cast)
    target = tmp_path / "decisions.parquet"
    call_command(
        "nudges", "export", "--clinic", "riverside", "--out", str(target), stdout=StringIO()
    )
    frame = pl.read_parquet(target)
    assert frame.columns == trials.COLUMNS
    assert frame.height == 12
    assert frame.schema["decided_at"] == pl.Datetime("us", "UTC")
    assert frame.schema["draw"] == pl.Float64
    assert frame.schema["available"] == pl.Boolean
    assert frame["outcome_active"].null_count() == 6
    assert abs(frame["probability"].mean() - 0.5) < 1e-9  # type: ignore[operator]


def test_exporting_an_unknown_clinic_is_refused(cast: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No clinic with the short name 'nowhere'"):
        call_command("nudges", "export", "--clinic", "nowhere", "--out", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()
