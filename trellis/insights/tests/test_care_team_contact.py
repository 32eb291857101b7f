"""The care team's messages: each writes a `care_team_message` event, which the risk model
reads (contact and reply latency) and which never counts as the patient's own activity."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.alerts.tests.helpers import T0, alex_with_maria
from trellis.engagement.events import emit
from trellis.engagement.models import EngagementEvent
from trellis.insights import rules
from trellis.insights.risk import features
from trellis.insights.tests.risk_frames import at, enrollment, enrollments, event, events
from trellis.journey.queries import active_days
from trellis.messaging.placeholders import fill
from trellis.messaging.services import send_message

DAY = timedelta(days=1)


def test_contact_features_from_a_hand_written_log() -> None:
    log = events(
        [
            event("alex", at(1, 9), "message_sent", "40"),
            event("alex", at(1, 15), "care_team_message", "120"),  # 6 hours later
            event("alex", at(3, 8), "message_sent", "30"),
            event("alex", at(4, 2), "care_team_message", "80"),  # 18 hours later
            event("alex", at(8, 10), "message_sent", "25"),  # no answer before day 10 ends
            event("blair", at(2, 10), "login"),
        ]
    )
    people = enrollments(enrollment("alex"), enrollment("blair"))
    found = {r["enrollment_id"]: r for r in features.at_day(log, people, 10).to_dicts()}
    alex, blair = found["alex"], found["blair"]
    assert alex["care_team_messages_14"] == 2
    assert alex["days_since_care_team"] == pytest.approx(10 - (4 + 2 / 24))
    assert alex["reply_hours"] == pytest.approx(12.0)  # the median of 6 and 18
    assert alex["messages_sent"] == 3
    # A care team's message is not the patient's activity.
    assert alex["days_since_active"] == pytest.approx(10 - (8 + 10 / 24))
    assert (blair["care_team_messages_14"], blair["days_since_care_team"]) == (0, None)
    assert blair["reply_hours"] is None


@pytest.mark.django_db
def test_a_care_team_message_writes_its_event_and_is_never_the_patients_activity(
    cast: Any,
) -> None:
    enrollment_row = alex_with_maria(cast)
    maria = cast["therapist_maria"]
    send_message(
        enrollment_row,
        sender=enrollment_row.patient,
        body="Hard week.",
        client_id=uuid.uuid4(),
        now=T0 + DAY,
    )
    send_message(
        enrollment_row,
        sender=maria,
        body="Thank you for telling me.",
        client_id=uuid.uuid4(),
        now=T0 + 9 * DAY,
    )
    written = list(
        EngagementEvent.objects.filter(enrollment=enrollment_row)
        .order_by("occurred_at")
        .values_list("type", "value")
    )
    assert ("message_sent", "10") in written
    assert ("care_team_message", "25") in written
    # The patient's active days and the "days since" placeholder ignore it.
    assert active_days(enrollment_row) == len(
        {
            e.occurred_at.date()
            for e in EngagementEvent.objects.filter(enrollment=enrollment_row).exclude(
                type="care_team_message"
            )
        }
    )
    text = fill("{days_since_last_activity}", enrollment_row, supporter=maria, now=T0 + 10 * DAY)
    assert text == "9"


@pytest.mark.django_db
def test_a_care_team_message_does_not_end_an_inactivity_alert(cast: Any) -> None:
    enrollment_row = alex_with_maria(cast)
    emit(enrollment_row, "login", at=T0 + DAY)
    rules.evaluate(T0 + 10 * DAY)
    alert = Alert.objects.get(enrollment=enrollment_row, kind=AlertKind.INACTIVITY)
    send_message(
        enrollment_row,
        sender=cast["therapist_maria"],
        body="How are things?",
        client_id=uuid.uuid4(),
        now=T0 + 10 * DAY + timedelta(hours=1),
    )
    rules.evaluate(T0 + 10 * DAY + timedelta(hours=2))
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
