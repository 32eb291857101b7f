"""The nudge events join the engagement log: `reminder_sent` (written by Trellis) and
`reminder_opened` (the patient's own action), and the one list of patient-initiated types."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from trellis.engagement.events import emit
from trellis.engagement.models import PATIENT_INITIATED, EngagementEvent, EventType
from trellis.journey.tests.factories import enroll_alex

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events.md"
AT = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_reminder_sent_and_opened_are_written_to_the_log(cast: Any) -> None:
    enrollment = enroll_alex(cast, now=AT)
    emit(enrollment, EventType.REMINDER_SENT, at=AT, value="sms")
    emit(enrollment, "reminder_opened", at=AT, value="sms")
    rows = EngagementEvent.objects.filter(enrollment=enrollment, type__startswith="reminder_")
    assert sorted(rows.values_list("type", "value")) == [
        ("reminder_opened", "sms"),
        ("reminder_sent", "sms"),
    ]


def test_an_unknown_type_is_still_refused() -> None:
    with pytest.raises(ValueError, match="unknown engagement event type 'reminder_clicked'"):
        emit(None, "reminder_clicked", at=AT)  # type: ignore[arg-type]


def test_opening_a_reminder_is_the_patients_doing_sending_one_is_not() -> None:
    assert "reminder_opened" in PATIENT_INITIATED
    assert "reminder_sent" not in PATIENT_INITIATED
    assert {"questionnaire_due", "questionnaire_overdue", "appointment_missed"}.isdisjoint(
        PATIENT_INITIATED
    )
    assert set(EventType.values) >= PATIENT_INITIATED


def test_the_interchange_format_documents_every_type() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE))
    assert {"reminder_sent", "reminder_opened"} <= documented
    listed = re.search(r"## Patient-initiated events(.*?)\n## ", text, flags=re.DOTALL)
    assert listed is not None
    named = set(re.findall(r"`([a-z_]+)`", listed.group(1).split("The others are")[1]))
    assert named & set(EventType.values) == set(PATIENT_INITIATED)
