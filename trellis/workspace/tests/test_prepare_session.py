"""The progress summary on the patient record, and the supporter's page to prepare for a
live session: who may open it, what it shows, where it is linked from."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from trellis.alerts.tests.helpers import enroll_patient
from trellis.appointments import services as sessions
from trellis.appointments.models import Appointment
from trellis.appointments.tests.helpers import alex_booked_session, open_times_ahead
from trellis.audit.models import AuditEvent
from trellis.care.models import SupportLevel
from trellis.core import timeutil
from trellis.journey import services as journey
from trellis.journey.tests.factories import enroll_alex
from trellis.messaging.services import send_message

pytestmark = pytest.mark.django_db

AUTOMATIC = "Written automatically by Trellis from the record; check the details below."


def prepare_url(session: Appointment, enrollment_id: Any = None) -> str:
    return reverse(
        "caseload:prepare_session",
        kwargs={"pk": enrollment_id or session.enrollment_id, "appointment_id": session.pk},
    )


def _summary(page: str) -> str:
    start = page.index('aria-labelledby="progress-heading"')
    return page[start : page.index("</section>", start)]


def test_the_record_shows_the_summary_since_the_last_contact_below_what_needs_attention(
    cast: Any, client_for: Any
) -> None:
    now = timeutil.now()
    enrollment = enroll_alex(cast, now=now - timedelta(days=10))
    send_message(
        enrollment,
        sender=cast["therapist_maria"],
        body="How did the week go?",
        client_id=uuid.uuid4(),
        now=now - timedelta(days=3),
    )
    for score, days_ago in ((4, 5), (6, 1)):
        journey.check_in_mood(
            enrollment,
            actor=enrollment.patient,
            score=score,
            note="",
            client_id=uuid.uuid4(),
            now=now - timedelta(days=days_ago),
        )
    page = (
        client_for("therapist_maria")
        .get(reverse("caseload:record", kwargs={"pk": enrollment.pk}))
        .content.decode()
    )
    summary = _summary(page)
    assert page.index("attention-heading") < page.index("progress-heading")
    assert page.index("progress-heading") < page.index("timeline-heading")
    assert AUTOMATIC in summary
    assert "Since Maria Lindqvist last wrote to the patient on" in summary
    assert "1 check-in, average 6.0 of 10." in summary  # the 4 came before her message
    assert "No journal entries shared since" in summary


def test_the_prepare_page_shows_the_session_and_the_summary_to_the_supporter(
    cast: Any, client_for: Any
) -> None:
    session = alex_booked_session(cast)
    response = client_for("therapist_maria").get(prepare_url(session))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Prepare for the session with Alex Rivera" in page
    assert "Video" in page and "Maria Lindqvist" in page
    assert AUTOMATIC in _summary(page)
    assert reverse("caseload:record", kwargs={"pk": session.enrollment_id}) in page
    event = AuditEvent.objects.filter(action="record.view").latest("id")
    assert str(event.patient_id) == str(cast["patient_alex"].pk)
    assert event.details["what"] == "prepare for a session"
    assert event.details["appointment"] == str(session.pk)


def test_the_care_team_and_supervisor_in_reach_may_prepare(cast: Any, client_for: Any) -> None:
    session = alex_booked_session(cast)
    for who in ("coach_jordan", "supervisor_ruth"):
        assert client_for(who).get(prepare_url(session)).status_code == 200


def test_another_clinic_or_team_gets_404_and_a_patient_403(cast: Any, client_for: Any) -> None:
    session = alex_booked_session(cast)
    assert client_for("therapist_otto").get(prepare_url(session)).status_code == 404
    assert client_for("therapist_sam").get(prepare_url(session)).status_code == 404
    assert client_for("patient_alex").get(prepare_url(session)).status_code == 403


def test_a_session_of_another_enrollment_is_404_even_when_both_are_in_reach(
    cast: Any, client_for: Any
) -> None:
    alex_session = alex_booked_session(cast)
    now = timeutil.now()
    blair = enroll_patient(
        cast,
        "patient_blair",
        SupportLevel.THERAPIST_ASSISTED,
        ("therapist_maria",),
        now=now - timedelta(days=3),
    )
    free = [t for t in open_times_ahead(cast) if t.starts_at != alex_session.starts_at]
    blair_session = sessions.book(
        blair,
        supporter=cast["therapist_maria"],
        starts_at=free[-1].starts_at,
        mode="phone",
        actor=blair.patient,
        client_id=uuid.uuid4(),
        now=now,
    )
    client = client_for("therapist_maria")
    assert client.get(prepare_url(blair_session)).status_code == 200
    assert client.get(prepare_url(blair_session, alex_session.enrollment_id)).status_code == 404
    assert client.get(prepare_url(alex_session, blair.pk)).status_code == 404
    missing = reverse(
        "caseload:prepare_session",
        kwargs={"pk": alex_session.enrollment_id, "appointment_id": uuid.uuid4()},
    )
    assert client.get(missing).status_code == 404


def test_the_sessions_page_and_the_record_link_to_the_prepare_page(
    cast: Any, client_for: Any
) -> None:
    session = alex_booked_session(cast)
    client = client_for("therapist_maria")
    listing = client.get(reverse("sessions:clinic")).content.decode()
    assert prepare_url(session) in listing
    record = client.get(reverse("caseload:record", kwargs={"pk": session.enrollment_id}))
    assert prepare_url(session) in record.content.decode()
