"""A patient books a live session in a real browser, and both the patient and the supporter
receive the invite by real SMTP: a text/calendar part with the same UID."""

from __future__ import annotations

import re
from typing import Any

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from test_patient_journey import sign_in

from trellis.appointments.models import Appointment
from trellis.appointments.tests.helpers import maria_every_day
from trellis.demo import personas

pytestmark = pytest.mark.browser


def _invite_uids(mails: list[Any]) -> set[str]:
    uids = set()
    for mail in mails:
        for part in mail.message.walk():
            if part.get_content_type() == "text/calendar":
                calendar = Calendar.from_ical(part.get_payload(decode=True))
                assert calendar["METHOD"] == "REQUEST"
                uids |= {str(event["UID"]) for event in calendar.walk("VEVENT")}
    return uids


def test_patient_books_a_session_and_both_sides_get_the_invite(
    cast: personas.Cast, page: Any, smtp: Any
) -> None:
    maria_every_day(cast)
    sign_in(page, cast["patient_alex"].email)
    expect(page.get_by_role("link", name="Sessions")).to_be_visible()
    page.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sessions")
    first = page.locator("li.open-time").first
    first.get_by_label("How would you like to meet?").select_option("video")
    first.get_by_role("button", name=re.compile(r"^Book ")).click()

    expect(page.locator(".messages")).to_contain_text("Your session is booked")
    booked = page.get_by_role("region", name="Your booked sessions")
    expect(booked.get_by_role("link", name="Join the video call")).to_be_visible()
    assert not page.problems, page.problems

    appointment = Appointment.objects.get()
    patient_mail = smtp.to(cast["patient_alex"].email)
    supporter_mail = smtp.to(cast["therapist_maria"].email)
    assert _invite_uids(patient_mail) == {appointment.ical_uid}
    assert _invite_uids(supporter_mail) == {appointment.ical_uid}
