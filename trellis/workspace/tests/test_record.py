"""The patient record: timeline, shared journal only, encrypted care notes, audited reads."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.alerts.models import Alert
from trellis.alerts.services import raise_alert
from trellis.appointments.models import Appointment
from trellis.audit.models import AuditEvent
from trellis.care.models import CareNote
from trellis.care.services import add_care_note
from trellis.core import timeutil
from trellis.journey.models import JournalEntry
from trellis.journey.tests.factories import enroll_alex
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging.services import send_message
from trellis.workspace.record import timeline

pytestmark = pytest.mark.django_db


def test_opening_the_record_writes_an_audit_read_event(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("therapist_maria").get(
        reverse("caseload:record", kwargs={"pk": enrollment.pk})
    )
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action="record.view").latest("id")
    assert str(event.patient_id) == str(cast["patient_alex"].pk)


def test_only_journal_entries_the_patient_shared_are_on_the_record(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    JournalEntry.objects.create(
        enrollment=enrollment,
        body="Shared: the walk helped",
        shared_with_care_team=True,
        client_id=uuid.uuid4(),
    )
    JournalEntry.objects.create(
        enrollment=enrollment, body="Private: for me only", client_id=uuid.uuid4()
    )
    page = (
        client_for("coach_jordan")
        .get(reverse("caseload:record", kwargs={"pk": enrollment.pk}))
        .content.decode()
    )
    assert "Shared: the walk helped" in page
    assert "Private: for me only" not in page


def test_a_care_note_is_stored_encrypted_and_shown_to_the_care_team(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    client = client_for("therapist_maria")
    url = reverse("caseload:add_note", kwargs={"pk": enrollment.pk})
    response = client.post(url, {"body": "Discussed sleep; follow up Friday."})
    assert response.status_code == 302
    note = CareNote.objects.get(enrollment=enrollment)
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM care_carenote WHERE id = %s", [note.pk.hex])
        raw = cursor.fetchone()
    assert raw is not None and "follow up Friday" not in str(raw[0])
    page = client.get(reverse("caseload:record", kwargs={"pk": enrollment.pk})).content.decode()
    assert "Discussed sleep; follow up Friday." in page
    assert AuditEvent.objects.filter(action="care_note.create").exists()


def test_an_empty_note_is_a_400_with_a_field_error_and_nothing_is_written(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("therapist_maria").post(
        reverse("caseload:add_note", kwargs={"pk": enrollment.pk}), {"body": "   "}
    )
    assert response.status_code == 400
    assert "Write the note before saving it." in response.content.decode()
    assert 'aria-describedby="id_body-error"' in response.content.decode()
    assert not CareNote.objects.exists()


def test_the_api_refuses_an_empty_note_on_body(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("therapist_maria").post(
        f"/api/v1/care/enrollments/{enrollment.pk}/notes",
        json.dumps({"body": ""}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert not CareNote.objects.exists()


def test_patients_get_403_and_other_clinics_404_on_a_record(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    url = reverse("caseload:record", kwargs={"pk": enrollment.pk})
    assert client_for("patient_alex").get(url).status_code == 403
    assert client_for("therapist_otto").get(url).status_code == 404
    assert client_for("therapist_sam").get(url).status_code == 404


def test_the_timeline_shows_notes_and_scores_newest_first(cast: Any) -> None:
    enrollment = enroll_alex(cast)
    now = timeutil.now()
    add_care_note(enrollment, author=cast["therapist_maria"], body="First", now=now)
    add_care_note(
        enrollment,
        author=cast["coach_jordan"],
        body="Second",
        now=now + timedelta(minutes=1),
    )
    entries = timeline(enrollment)
    assert [e.detail for e in entries if e.kind == "note"] == ["Second", "First"]


def test_the_record_links_to_the_thread_and_the_progress_page(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    page = client_for("therapist_maria").get(
        reverse("caseload:record", kwargs={"pk": enrollment.pk})
    )
    html = page.content.decode()
    assert reverse("messaging:thread", kwargs={"enrollment_id": enrollment.pk}) in html
    assert (
        reverse("measures:patient_progress", kwargs={"patient_id": enrollment.patient_id}) in html
    )


def _attention_section(page: str) -> str:
    start = page.index('aria-labelledby="attention-heading"')
    return page[start : page.index("</section>", start)]


def _session(cast: Any, enrollment: Any, starts: Any) -> None:
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


def _scored(enrollment: Any, code: str, totals: list[int], start: Any) -> None:
    QuestionnaireResponse.objects.bulk_create(
        [
            QuestionnaireResponse(
                enrollment=enrollment,
                instrument=code,
                total=total,
                band="moderate" if total >= 10 else "mild",
                submitted_at=start + timedelta(weeks=n),
                client_id=uuid.uuid4(),
            )
            for n, total in enumerate(totals)
        ]
    )


def test_the_record_opens_with_what_needs_attention_safety_first(
    cast: Any, client_for: Any
) -> None:
    now = timeutil.now()
    enrollment = enroll_alex(cast, now=now - timedelta(days=30))
    raise_alert(
        enrollment, kind="inactivity", severity="low", reason="Quiet", assigned_to=None, now=now
    )
    safety = Alert.objects.create(
        organization_id=enrollment.organization_id,
        enrollment_id=enrollment.pk,
        kind="safety",
        severity="urgent",
        reason="PHQ-9 item 9 answered above 0",
        raised_at=now,
    )
    _scored(enrollment, "PHQ-9", [8, 15], now - timedelta(weeks=2))
    send_message(
        enrollment,
        sender=cast["patient_alex"],
        body="Could we talk before Friday?",
        client_id=uuid.uuid4(),
        now=now - timedelta(hours=5),
    )
    _session(cast, enrollment, now + timedelta(days=2))
    for _ in range(3):  # add the timeline's 25 rows above which the alert used to sit
        add_care_note(enrollment, author=cast["therapist_maria"], body="Seen", now=now)
    page = (
        client_for("therapist_maria")
        .get(reverse("caseload:record", kwargs={"pk": enrollment.pk}))
        .content.decode()
    )
    attention = _attention_section(page)
    assert page.index("attention-heading") < page.index("timeline-heading")
    assert 'class="card attention has-safety"' in page
    safety_link = reverse("alerts:detail", kwargs={"pk": safety.pk})
    assert f'<li class="safety-item"><a href="{safety_link}">' in attention
    assert attention.index("Safety") < attention.index("No recent activity")
    assert "PHQ-9 15</strong>, moderate" in attention
    assert "up 7 since the one before" in attention
    assert "1 message since" in attention
    assert "Could we talk before Friday?" in attention
    assert "None booked." not in attention
    assert "Video" in attention


def test_a_calm_record_says_so_in_each_part(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    page = (
        client_for("therapist_maria")
        .get(reverse("caseload:record", kwargs={"pk": enrollment.pk}))
        .content.decode()
    )
    attention = _attention_section(page)
    for words in (
        "None open.",
        "No scored questionnaire yet.",
        "No message is waiting.",
        "None booked.",
    ):
        assert words in attention
    assert "has-safety" not in page


def test_the_record_costs_the_same_queries_however_much_needs_attention(
    cast: Any, client_for: Any
) -> None:
    now = timeutil.now()
    enrollment = enroll_alex(cast, now=now - timedelta(days=60))
    client = client_for("therapist_maria")
    url = reverse("caseload:record", kwargs={"pk": enrollment.pk})

    def cost() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    cost()  # warm the session
    quiet = cost()
    for n, kind in enumerate(("inactivity", "deterioration", "unanswered_message")):
        raise_alert(
            enrollment, kind=kind, severity="high", reason=f"r{n}", assigned_to=None, now=now
        )
    for n in range(6):
        send_message(
            enrollment,
            sender=cast["patient_alex"],
            body=f"Message {n}",
            client_id=uuid.uuid4(),
            now=now - timedelta(hours=n + 1),
        )
    _scored(enrollment, "PHQ-9", [14, 12, 9], now - timedelta(weeks=4))
    _scored(enrollment, "GAD-7", [11, 8], now - timedelta(weeks=4))
    _session(cast, enrollment, now + timedelta(days=1))
    _session(cast, enrollment, now + timedelta(days=8))
    assert cost() == quiet
