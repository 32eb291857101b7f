"""The session pages and the JSON API: booking from the page, a taken time is 409, bad input
is 4xx with nothing written, the availability editor, attendance, and API idempotency."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from trellis.accounts.services.language import set_language
from trellis.appointments.models import Appointment, AppointmentStatus, WeeklySlot
from trellis.appointments.templatetags.session_dates import weekday_day
from trellis.appointments.tests.helpers import (
    alex_booked_session,
    maria_every_day,
    open_times_ahead,
)
from trellis.appointments.views import short_day
from trellis.core import timeutil


def test_patient_books_from_the_sessions_page(cast: Any, client_for: Any) -> None:
    maria_every_day(cast)
    first = open_times_ahead(cast)[0]
    client = client_for("patient_alex")
    page = client.get(reverse("sessions:mine"))
    assert page.status_code == 200
    assert "Book a session" in page.content.decode()
    form = {
        "supporter": str(first.supporter.pk),
        "starts_at": first.starts_at.isoformat(),
        "mode": "phone",
        "client_id": str(uuid.uuid4()),
    }
    booked = client.post(reverse("sessions:book"), form)
    assert booked.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.starts_at, appointment.mode) == (first.starts_at, "phone")
    # Someone else's second try at the same time: 409 with the reason, nothing written.
    again = client.post(reverse("sessions:book"), {**form, "client_id": str(uuid.uuid4())})
    assert again.status_code == 409
    assert "just been booked" in again.content.decode()
    assert Appointment.objects.count() == 1


def test_a_past_time_or_an_empty_form_is_400_and_nothing_is_written(
    cast: Any, client_for: Any
) -> None:
    maria_every_day(cast)
    client = client_for("patient_alex")
    past = {
        "supporter": str(cast["therapist_maria"].pk),
        "starts_at": (timeutil.now() - timedelta(days=1)).isoformat(),
        "mode": "phone",
        "client_id": str(uuid.uuid4()),
    }
    response = client.post(reverse("sessions:book"), past)
    assert response.status_code == 400
    assert "already passed" in response.content.decode()
    assert client.post(reverse("sessions:book"), {}).status_code == 400
    assert not Appointment.objects.exists()


def test_supporter_adds_a_weekly_time_and_a_bad_one_is_explained(
    cast: Any, client_for: Any
) -> None:
    client = client_for("therapist_maria")
    good = {
        "weekday": "1",
        "start_time": "09:00",
        "end_time": "12:00",
        "session_minutes": "45",
        "time_zone": "Europe/Helsinki",
        "valid_from": "2026-01-01",
    }
    assert client.post(reverse("sessions:slot_add"), good).status_code == 302
    bad = {**good, "end_time": "09:30"}
    response = client.post(reverse("sessions:slot_add"), bad)
    assert response.status_code == 400
    assert "shorter than one session" in response.content.decode()
    assert WeeklySlot.objects.filter(supporter=cast["therapist_maria"]).count() == 1
    page = client.get(reverse("sessions:availability"))
    assert "Tuesday" in page.content.decode()


@pytest.mark.parametrize("field", ["valid_from", "valid_until"])
def test_a_weekly_time_with_a_far_future_day_is_refused_with_400(
    cast: Any, client_for: Any, field: str
) -> None:
    client = client_for("therapist_maria")
    form = {
        "weekday": "1",
        "start_time": "09:00",
        "end_time": "12:00",
        "session_minutes": "45",
        "time_zone": "Europe/Helsinki",
        "valid_from": "2026-01-01",
        field: "9999-12-31",
    }
    response = client.post(reverse("sessions:slot_add"), form)
    assert response.status_code == 400
    assert "between 1900-01-01 and 2199-12-31" in response.content.decode()
    assert not WeeklySlot.objects.filter(supporter=cast["therapist_maria"]).exists()


def test_supporter_records_a_session_as_attended_from_the_staff_page(
    cast: Any, client_for: Any
) -> None:
    appointment = alex_booked_session(cast)
    # The session is in the past by now (moved there directly: booking refuses past times).
    start = timeutil.now() - timedelta(hours=2)
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=start, ends_at=start + timedelta(hours=1)
    )
    client = client_for("therapist_maria")
    assert "Record attendance" in client.get(reverse("sessions:clinic")).content.decode()
    url = reverse("sessions:attendance", kwargs={"appointment_id": appointment.pk})
    assert client.post(url, {"attended": "yes"}).status_code == 400
    assert client.post(url, {"attended": "yes", "minutes": "45"}).status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.support_minutes) == (AppointmentStatus.ATTENDED, 45)


def test_api_booking_is_idempotent_and_a_taken_time_is_409(cast: Any, client_for: Any) -> None:
    enrollment = maria_every_day(cast)
    first = open_times_ahead(cast)[0]
    client = client_for("patient_alex")
    url = f"/api/v1/sessions/enrollments/{enrollment.pk}/appointments"
    body = {
        "client_id": str(uuid.uuid4()),
        "supporter_id": str(first.supporter.pk),
        "starts_at": first.starts_at.isoformat(),
        "mode": "video",
    }
    created = client.post(url, body, content_type="application/json")
    assert created.status_code == 201, created.content
    repeat = client.post(url, body, content_type="application/json")
    assert repeat.status_code == 200
    assert repeat.json()["id"] == created.json()["id"]
    taken = client.post(
        url, {**body, "client_id": str(uuid.uuid4())}, content_type="application/json"
    )
    assert taken.status_code == 409
    assert taken.json()["detail"]
    listed = client.get(url).json()
    assert [a["ical_uid"] for a in listed] == [created.json()["ical_uid"]]
    bad_mode = client.post(
        url,
        {
            **body,
            "client_id": str(uuid.uuid4()),
            "starts_at": open_times_ahead(cast)[0].starts_at.isoformat(),
            "mode": "carrier pigeon",
        },
        content_type="application/json",
    )
    assert bad_mode.status_code == 422
    assert bad_mode.json()["errors"][0]["field"] == "mode"
    assert Appointment.objects.count() == 1


def test_api_cancel_and_reschedule_by_the_patient(cast: Any, client_for: Any) -> None:
    appointment = alex_booked_session(cast)
    client = client_for("patient_alex")
    later = [t for t in open_times_ahead(cast) if t.starts_at > appointment.starts_at][-1]
    moved = client.post(
        f"/api/v1/sessions/appointments/{appointment.pk}/reschedule",
        {"client_id": str(uuid.uuid4()), "starts_at": later.starts_at.isoformat()},
        content_type="application/json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["ical_sequence"] == 1
    cancelled = client.post(
        f"/api/v1/sessions/appointments/{appointment.pk}/cancel",
        {"reason": "Feeling better"},
        content_type="application/json",
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(
        f"/api/v1/sessions/appointments/{appointment.pk}/cancel",
        {},
        content_type="application/json",
    )
    assert again.status_code == 422


@pytest.mark.parametrize(
    ("language", "december", "january"),
    [("en", "8 Dec", "1 Jan"), ("fi", "8 jou", "1 tam"), ("es", "8 dic", "1 ene")],
)
def test_the_day_strip_writes_month_abbreviations_as_the_language_does(
    language: str, december: str, january: str
) -> None:
    with translation.override(language):
        assert short_day(date(2026, 12, 8)) == december
        assert short_day(date(2027, 1, 1)) == january


def test_availability_dates_use_the_language_date_format(cast: Any, client_for: Any) -> None:
    set_language(user=cast["therapist_maria"], language="fi")
    client = client_for("therapist_maria")
    day = timeutil.now().date() + timedelta(days=3)
    slot = {
        "weekday": "1",
        "start_time": "09:00",
        "end_time": "12:00",
        "session_minutes": "45",
        "time_zone": "Europe/Helsinki",
        "valid_from": day.isoformat(),
    }
    # A Finnish page activates Finnish for the rest of the thread; "en" is restored after.
    with translation.override("en"):
        assert client.post(reverse("sessions:slot_add"), slot).status_code == 302
        day_off = client.post(reverse("sessions:exception_add"), {"day": day.isoformat()})
        assert day_off.status_code == 302
        page = client.get(reverse("sessions:availability")).content.decode()
    with translation.override("fi"):
        written = date_format(day)
    assert written.count(".") == 1  # "8. joulukuuta 2026", Finnish with the genitive month
    assert page.count(written) == 2  # the weekly time's first day and the day off


@pytest.mark.parametrize(
    ("language", "written"),
    [
        ("en", "Tuesday 8 December"),
        ("fi", "tiistai 8. joulukuuta"),
        ("es", "martes 8 de diciembre"),
    ],
)
def test_a_session_day_reads_as_the_language_writes_it(language: str, written: str) -> None:
    with translation.override(language):
        assert weekday_day(date(2026, 12, 8)) == written
