"""Times in the reader's zone: the patient's own zone for the patient, the staff member's
for staff, named on the page, and a session shown in both when they differ."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.appointments.models import Appointment
from trellis.audit.models import AuditEvent
from trellis.care.middleware import viewer_zone_name
from trellis.care.models import Preferences
from trellis.journey.models import JournalEntry
from trellis.journey.tests.factories import enroll_alex
from trellis.messaging.services import send_message

pytestmark = pytest.mark.django_db

# 09:30 UTC on 1 July 2026 is 12:30 in Helsinki (summer time, +3) and 04:30 in Chicago
# (summer time, -5); the clinic (Riverside) keeps New York time, 05:30.
INSTANT = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


def _alex_in_helsinki_maria_in_chicago(cast: Any) -> Any:
    enrollment = enroll_alex(cast, now=INSTANT - timedelta(days=2))
    Preferences.objects.update_or_create(
        user=cast["patient_alex"], defaults={"time_zone": "Europe/Helsinki"}
    )
    maria = cast["therapist_maria"]
    maria.time_zone = "America/Chicago"
    maria.save(update_fields=["time_zone"])
    return enrollment


def _page(client: Any, name: str, **kwargs: Any) -> str:
    response = client.get(reverse(name, kwargs=kwargs or None))
    assert response.status_code == 200
    return str(response.content.decode())


def test_a_message_and_a_journal_entry_show_in_the_patients_zone_and_the_supporters(
    cast: Any, client_for: Any
) -> None:
    enrollment = _alex_in_helsinki_maria_in_chicago(cast)
    send_message(
        enrollment,
        sender=cast["patient_alex"],
        body="The walk helped today",
        client_id=uuid.uuid4(),
        now=INSTANT,
    )
    entry = JournalEntry.objects.create(
        enrollment=enrollment,
        body="Slept better",
        shared_with_care_team=True,
        client_id=uuid.uuid4(),
    )
    JournalEntry.objects.filter(pk=entry.pk).update(created_at=INSTANT)

    alex = client_for("patient_alex")
    messages = _page(alex, "messaging:mine")
    assert "1 Jul 2026, 12:30" in messages
    assert "Times in Europe/Helsinki" in messages
    assert "09:30" not in messages
    assert "Wednesday 1 July 2026, 12:30" in _page(alex, "journey:journal")

    maria = client_for("therapist_maria")
    thread = _page(maria, "messaging:thread", enrollment_id=enrollment.pk)
    assert "1 Jul 2026, 04:30" in thread
    assert "Times in America/Chicago" in thread
    record = _page(maria, "caseload:record", pk=enrollment.pk)
    assert "1 Jul 2026 04:30" in record  # the message on the timeline
    assert "1 Jul 2026, 04:30" in record  # the shared journal entry
    assert "12:30" not in record


def test_staff_without_a_zone_of_their_own_read_their_clinics(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast, now=INSTANT - timedelta(days=2))
    send_message(
        enrollment, sender=cast["patient_alex"], body="Hi", client_id=uuid.uuid4(), now=INSTANT
    )
    assert viewer_zone_name(cast["therapist_maria"]) == "America/New_York"
    assert viewer_zone_name(cast["patient_alex"]) == "America/New_York"
    thread = _page(client_for("therapist_maria"), "messaging:thread", enrollment_id=enrollment.pk)
    assert "1 Jul 2026, 05:30" in thread


def test_a_session_on_staff_pages_shows_the_patients_time_too_when_zones_differ(
    cast: Any, client_for: Any
) -> None:
    now = datetime.now(UTC)
    enrollment = _alex_in_helsinki_maria_in_chicago(cast)
    starts = (now + timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    Appointment.objects.create(
        enrollment=enrollment,
        supporter=cast["therapist_maria"],
        starts_at=starts,
        ends_at=starts + timedelta(minutes=50),
        mode="video",
        booked_by=cast["patient_alex"],
        client_id=uuid.uuid4(),
        ical_uid=f"{uuid.uuid4()}@trellis",
    )
    maria = client_for("therapist_maria")
    record = _page(maria, "caseload:record", pk=enrollment.pk)
    assert "for the patient (Europe/Helsinki)" in record
    assert "The patient lives by Europe/Helsinki" in record
    caseload = _page(maria, "caseload:list")
    assert "for the patient (Europe/Helsinki)" in caseload
    # 15:00 UTC is 10:00 in Chicago (summer) or 09:00 (winter), and 18:00 or 17:00 in Helsinki.
    assert any(f"{h}:00" in caseload for h in ("10", "09"))
    assert any(f"{h}:00 for the patient" in caseload for h in ("18", "17"))


def test_the_zone_costs_no_query_once_the_session_knows_it(cast: Any, client_for: Any) -> None:
    enroll_alex(cast)
    client = client_for("therapist_maria")
    client.get(reverse("caseload:list"))  # works the zone out and keeps it
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("caseload:list"))
    assert not any("accounts_membership" in q["sql"] and "time_zone" in q["sql"] for q in captured)


def test_a_staff_member_chooses_their_zone_on_my_account(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast, now=INSTANT - timedelta(days=2))
    send_message(
        enrollment, sender=cast["patient_alex"], body="Hi", client_id=uuid.uuid4(), now=INSTANT
    )
    client = client_for("therapist_maria")
    page = _page(client, "accounts:security")
    assert "The clinic&#x27;s zone (America/New_York)" in page
    before = _page(client, "messaging:thread", enrollment_id=enrollment.pk)
    assert "05:30" in before
    response = client.post(reverse("accounts:time_zone"), {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    after = _page(client, "messaging:thread", enrollment_id=enrollment.pk)
    assert "1 Jul 2026, 18:30" in after and "Times in Asia/Tokyo" in after
    assert AuditEvent.objects.filter(action="account.time_zone").exists()
    client.post(reverse("accounts:time_zone"), {"time_zone": ""})
    assert "05:30" in _page(client, "messaging:thread", enrollment_id=enrollment.pk)


@pytest.mark.parametrize("typed", ["Mars/Olympus", "EST", "x" * 500])
def test_a_zone_not_on_the_list_is_refused_with_a_message(
    cast: Any, client_for: Any, typed: str
) -> None:
    client = client_for("therapist_maria")
    response = client.post(reverse("accounts:time_zone"), {"time_zone": typed})
    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    cast["therapist_maria"].refresh_from_db()
    assert cast["therapist_maria"].time_zone == ""


def test_patients_set_their_zone_in_their_preferences_not_on_the_staff_form(
    client_for: Any,
) -> None:
    response = client_for("patient_alex").post(
        reverse("accounts:time_zone"), {"time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 403
