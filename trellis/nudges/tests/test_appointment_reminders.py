"""Session reminders 24 hours and 1 hour before a booked live session: queued once per
session, lead and calendar sequence (a moved session gets fresh ones, a cancelled one none),
written in the patient's time zone without naming the care, answered by a one-tap link that
works without signing in, and shown to the supporter on their Sessions page."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from trellis.appointments import services as sessions
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.appointments.tests.helpers import NOW, WEDNESDAY_9, alex_booked_session
from trellis.audit.models import AuditEvent
from trellis.nudges import appointment_reminders, messages, services
from trellis.nudges.appointment_reminders import answer_path, due_appointment_reminders
from trellis.nudges.models import (
    BlockReason,
    Delivery,
    DeliveryStatus,
    Notification,
    ReminderRule,
)
from trellis.nudges.tests.sms_setup import (
    TUESDAY_9,
    alex_texts,
    choose_channels,
    wednesday_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def texts_set_up(settings: Any) -> None:
    """Texts are available (a provider is configured); these tests send nothing."""
    settings.TRELLIS_SMS = {
        "BASE_URL": "http://127.0.0.1:9",
        "ACCOUNT": "AC" + "0" * 32,
        "TOKEN": "token",
        "FROM": "+15005550006",
    }


def reminders_of(appointment: Appointment) -> list[Delivery]:
    return list(Delivery.objects.filter(appointment_id=appointment.pk).order_by("created_at"))


def test_the_day_before_reminder_is_queued_once_as_a_transactional_nudge(cast: Any) -> None:
    alex_texts(cast)
    appointment = wednesday_session(cast)
    assert due_appointment_reminders(TUESDAY_9 - timedelta(minutes=1)) == 0

    assert due_appointment_reminders(TUESDAY_9) == 1
    [reminder] = reminders_of(appointment)
    assert reminder.template == "appointment_24h"
    assert reminder.channel == "sms"
    assert reminder.status == DeliveryStatus.QUEUED
    assert reminder.key == f"appointment:{appointment.pk}:24h:0:sms"
    assert reminder.expires_at == WEDNESDAY_9 - timedelta(hours=1)

    assert due_appointment_reminders(TUESDAY_9 + timedelta(minutes=5)) == 0
    assert len(reminders_of(appointment)) == 1


def test_the_hour_before_reminder_follows(cast: Any) -> None:
    alex_texts(cast)
    appointment = wednesday_session(cast)
    due_appointment_reminders(TUESDAY_9)
    an_hour_before = WEDNESDAY_9 - timedelta(hours=1)
    assert due_appointment_reminders(an_hour_before) == 1
    assert [r.template for r in reminders_of(appointment)] == ["appointment_24h", "appointment_1h"]
    assert due_appointment_reminders(an_hour_before + timedelta(minutes=30)) == 0


def test_a_session_booked_within_the_hour_gets_only_the_hour_reminder(cast: Any) -> None:
    alex_texts(cast)
    appointment = wednesday_session(cast)
    # Nothing ran the day before; the clock comes back 50 minutes before the session.
    assert due_appointment_reminders(WEDNESDAY_9 - timedelta(minutes=50)) == 1
    assert [r.template for r in reminders_of(appointment)] == ["appointment_1h"]


def test_a_moved_session_gets_fresh_reminders_and_the_old_one_is_not_sent(cast: Any) -> None:
    alex_texts(cast)
    appointment = wednesday_session(cast)
    due_appointment_reminders(TUESDAY_9)
    [old] = reminders_of(appointment)
    moved = sessions.reschedule(
        appointment,
        starts_at=WEDNESDAY_9 + timedelta(hours=1),
        actor=cast["therapist_maria"],
        client_id=uuid.uuid4(),
        now=NOW,
    )
    assert moved.ical_sequence == 1
    assert due_appointment_reminders(TUESDAY_9 + timedelta(minutes=30)) == 0
    assert due_appointment_reminders(TUESDAY_9 + timedelta(hours=1)) == 1
    old.refresh_from_db()
    assert (old.status, old.reason) == (DeliveryStatus.SUPPRESSED, "session_changed")
    fresh = Delivery.objects.get(appointment_id=appointment.pk, status=DeliveryStatus.QUEUED)
    assert fresh.key == f"appointment:{appointment.pk}:24h:1:sms"


def test_a_cancelled_session_gets_no_reminder(cast: Any) -> None:
    alex_texts(cast)
    appointment = wednesday_session(cast)
    due_appointment_reminders(TUESDAY_9)
    sessions.cancel(appointment, actor=cast["therapist_maria"], reason="", now=NOW)
    assert due_appointment_reminders(TUESDAY_9 + timedelta(minutes=1)) == 0
    [reminder] = reminders_of(appointment)
    assert (reminder.status, reminder.reason) == (DeliveryStatus.SUPPRESSED, "session_changed")


def test_a_clinic_that_turned_the_reminder_off_gets_none(cast: Any) -> None:
    alex_texts(cast)
    appointment = wednesday_session(cast)
    ReminderRule.objects.create(
        organization=appointment.enrollment.organization,
        kind="appointment_24h",
        enabled=False,
    )
    assert due_appointment_reminders(TUESDAY_9) == 0
    assert due_appointment_reminders(WEDNESDAY_9 - timedelta(hours=1)) == 1
    assert [r.template for r in reminders_of(appointment)] == ["appointment_1h"]


def test_stop_still_stops_a_session_reminder(cast: Any) -> None:
    alex = alex_texts(cast)
    appointment = wednesday_session(cast)
    services.block(alex, channel="", reason=BlockReason.STOP, by=alex)
    due_appointment_reminders(TUESDAY_9)
    assert {(r.status, r.reason) for r in reminders_of(appointment)} <= {
        (DeliveryStatus.SUPPRESSED, "blocked_stop")
    }
    assert not Delivery.objects.filter(
        appointment_id=appointment.pk, status=DeliveryStatus.QUEUED
    ).exists()


def test_the_reminder_speaks_the_patients_time_zone_and_names_no_care(cast: Any) -> None:
    alex = alex_texts(cast)
    choose_channels(alex, ["sms", "email"], zone="Europe/Helsinki")
    appointment = wednesday_session(cast)
    due_appointment_reminders(TUESDAY_9)
    for reminder in reminders_of(appointment):
        message = messages.render(reminder)
        assert "Wednesday 3 June at 16:00" in message.short  # 13:00 UTC in Helsinki
        assert "Reply C to confirm, R for another time, X to cancel" in message.short
        assert "/nudges/session/" in message.short
        for text in (message.short, message.subject):
            for word in ("therap", "anxiety", "Maria", "video", "clinic"):
                assert word.lower() not in text.lower()


def test_a_rendered_reminder_for_a_cancelled_session_is_not_sent(cast: Any) -> None:
    alex_texts(cast)
    appointment = wednesday_session(cast)
    due_appointment_reminders(TUESDAY_9)
    Appointment.objects.filter(pk=appointment.pk).update(
        status=AppointmentStatus.CANCELLED, ical_sequence=1
    )
    [reminder] = reminders_of(appointment)
    with pytest.raises(LookupError, match="session_changed"):
        messages.render(reminder)


# The one-tap answer page ----------------------------------------------------------------


def test_the_answer_page_works_without_signing_in_and_confirms(cast: Any, client: Any) -> None:
    appointment = alex_booked_session(cast)
    path = answer_path(appointment)
    page = client.get(path)
    assert page.status_code == 200
    assert appointment_reminders.when_words(appointment) in page.content.decode()
    assert AuditEvent.objects.filter(action="sessions.confirmed").count() == 0  # GET asks only

    done = client.post(path, {"action": "confirm"})
    assert done.status_code == 200
    assert "Your session is confirmed" in done.content.decode()
    appointment.refresh_from_db()
    assert (appointment.confirmed_via, appointment.status) == ("link", AppointmentStatus.BOOKED)
    event = AuditEvent.objects.get(action="sessions.confirmed")
    assert event.actor_id == cast["patient_alex"].pk


def test_the_answer_page_cancels(cast: Any, client: Any) -> None:
    appointment = alex_booked_session(cast)
    path = answer_path(appointment)
    assert client.post(path, {"action": "cancel"}).status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert AuditEvent.objects.get(action="sessions.cancelled").details["by"] == "patient"
    again = client.post(path, {"action": "cancel"})
    assert again.status_code == 410
    assert "no longer booked" in again.content.decode()
    assert AuditEvent.objects.filter(action="sessions.cancelled").count() == 1


def test_another_time_records_the_request_and_leads_to_the_booking_page(
    cast: Any, client: Any
) -> None:
    appointment = alex_booked_session(cast)
    response = client.post(answer_path(appointment), {"action": "another_time"})
    assert response.status_code == 302
    assert response["Location"] == reverse("sessions:reschedule", args=[appointment.pk])
    appointment.refresh_from_db()
    assert appointment.another_time_requested_via == "link"
    assert Notification.objects.filter(user=cast["therapist_maria"]).count() == 1


def test_a_made_up_or_stale_link_is_404_and_an_unknown_answer_400(cast: Any, client: Any) -> None:
    appointment = alex_booked_session(cast)
    assert client.get(reverse("nudges_sms:answer", args=["made-up"])).status_code == 404
    stale = appointment_reminders.answer_token(appointment, sequence=appointment.ical_sequence + 1)
    assert client.get(reverse("nudges_sms:answer", args=[stale])).status_code == 404
    assert client.post(answer_path(appointment), {"action": "delete"}).status_code == 400
    assert client.post(answer_path(appointment), {}).status_code == 400
    appointment.refresh_from_db()
    assert appointment.confirmed_at is None and appointment.status == AppointmentStatus.BOOKED


def test_the_supporter_sees_the_answer_on_their_sessions_page(cast: Any, client_for: Any) -> None:
    appointment = alex_booked_session(cast)
    maria = client_for("therapist_maria")
    assert "No answer yet" in maria.get(reverse("sessions:clinic")).content.decode()
    sessions.confirm_by_patient(
        appointment, actor=cast["patient_alex"], via="sms", now=appointment.created_at
    )
    page = maria.get(reverse("sessions:clinic")).content.decode()
    assert "Confirmed by text," in page


def test_only_the_patient_answers_for_their_session(cast: Any) -> None:
    appointment = alex_booked_session(cast)
    with pytest.raises(PermissionDenied, match="Only the patient"):
        sessions.confirm_by_patient(
            appointment, actor=cast["therapist_maria"], via="sms", now=appointment.created_at
        )
