"""`trellis nudges preview`: what the rules would send to one patient over the next days,
when (local and UTC), through which channel and why, without writing anything."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.audit.models import AuditEvent
from trellis.nudges.models import DecisionPoint, Delivery, OutreachSettings, RuleKind
from trellis.nudges.tests.decision_helpers import enroll_persona, only_rule, prefer

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
START = "2026-03-06T05:00:00+00:00"  # Friday 6 March, midnight in New York


def preview(*args: str) -> list[str]:
    out = StringIO()
    call_command("nudges", "preview", *args, stdout=out)
    return out.getvalue().splitlines()


def test_preview_lists_each_decision_local_and_utc_with_its_reasons(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 0), reminder_channels=["in_app"])
    only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    OutreachSettings.objects.update_or_create(
        organization=cast.clinics["riverside"], defaults={"weekly_cap": 4, "daily_cap": 1}
    )
    audit_rows = AuditEvent.objects.count()
    lines = preview("--enrollment", str(alex.pk), "--days", "5", "--from", START, "--step", "15")
    decided = [line for line in lines if "exercise_today" in line]
    assert len(decided) == 5
    # Friday to Tuesday across the change to daylight time on Sunday 8 March.
    assert decided[0].startswith("Fri 2026-03-06 09:00 EST (2026-03-06 14:00 UTC)")
    assert decided[2].startswith("Sun 2026-03-08 09:00 EDT (2026-03-08 13:00 UTC)")
    assert "SEND via in_app" in decided[0]
    assert "rule exercise_today (every program), period 2026-03-06" in decided[0]
    # Four a week: Monday starts a new week, so Friday to Sunday and Monday all go out.
    assert sum("SEND via" in line for line in decided) == 5
    assert DecisionPoint.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert AuditEvent.objects.count() == audit_rows


def test_preview_shows_the_weekly_cap(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 0))
    riverside = cast.clinics["riverside"]
    only_rule(riverside, RuleKind.EXERCISE_TODAY)
    OutreachSettings.objects.update_or_create(
        organization=riverside, defaults={"weekly_cap": 2, "daily_cap": 1}
    )
    lines = preview("--enrollment", str(alex.pk), "--days", "7", "--from", START, "--step", "30")
    decided = [line for line in lines if "exercise_today" in line]
    verdicts = [
        "SEND" if "SEND via" in line else line.split("not available: ")[1] for line in decided
    ]
    # Friday and Saturday fill the week's two; Sunday waits; Monday starts a new week.
    assert verdicts == ["SEND", "SEND", "weekly_cap", "SEND", "SEND", "weekly_cap", "weekly_cap"]


def test_preview_of_a_trial_shows_each_draw(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(cast["patient_alex"], reminder_time=time(9, 0))
    riverside = cast.clinics["riverside"]
    only_rule(riverside, RuleKind.EXERCISE_TODAY, send_probability=Decimal("0.5"))
    OutreachSettings.objects.update_or_create(
        organization=riverside, defaults={"weekly_cap": 50, "daily_cap": 20}
    )
    args = ["--enrollment", str(alex.pk), "--days", "10", "--from", START, "--step", "30"]
    lines = [line for line in preview(*args, "--seed", "3") if "exercise_today" in line]
    assert lines == [line for line in preview(*args, "--seed", "3") if "exercise_today" in line]
    held = [line for line in lines if "HOLD (trial)" in line]
    sent = [line for line in lines if "SEND via" in line]
    assert held and sent and len(held) + len(sent) == 10
    assert all("not below probability 0.500" in line for line in held)
    assert all("below probability 0.500" in line for line in sent)


def test_preview_refuses_an_unknown_enrollment(cast: Any) -> None:
    with pytest.raises(CommandError, match="is not an enrollment id"):
        preview("--enrollment", "nobody")
    with pytest.raises(CommandError, match="No enrollment"):
        preview("--enrollment", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(CommandError, match="--days must be between 1 and 60"):
        preview("--enrollment", "00000000-0000-0000-0000-000000000000", "--days", "0")
    with pytest.raises(CommandError, match="is not a date and time"):
        preview("--enrollment", "00000000-0000-0000-0000-000000000000", "--from", "soon")


def test_preview_of_quiet_hours_says_the_nudge_would_wait(cast: Any) -> None:
    alex = enroll_persona(cast)
    prefer(
        cast["patient_alex"],
        reminder_time=time(9, 0),
        quiet_hours_start=time(8, 30),
        quiet_hours_end=time(9, 30),
    )
    only_rule(cast.clinics["riverside"], RuleKind.EXERCISE_TODAY)
    start = datetime(2026, 3, 6, 5, 0, tzinfo=UTC).isoformat()
    lines = preview("--enrollment", str(alex.pk), "--days", "1", "--from", start)
    [line] = [line for line in lines if "exercise_today" in line]
    assert "NONE" in line and "not available: quiet_hours" in line
