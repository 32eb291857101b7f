"""A patient books a live session on a phone (390 x 844) in a real browser, by day, then
time, then confirm; both the patient and the supporter receive the invite by real SMTP (a
text/calendar part with the same UID); and no page on the way is wider than the phone."""

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

PHONE = {"width": 390, "height": 844}


def _invite_uids(mails: list[Any]) -> set[str]:
    uids = set()
    for mail in mails:
        for part in mail.message.walk():
            if part.get_content_type() == "text/calendar":
                calendar = Calendar.from_ical(part.get_payload(decode=True))
                assert calendar["METHOD"] == "REQUEST"
                uids |= {str(event["UID"]) for event in calendar.walk("VEVENT")}
    return uids


def _fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_patient_books_a_session_by_day_then_time_on_a_phone(
    cast: personas.Cast, page: Any, smtp: Any
) -> None:
    maria_every_day(cast)
    page.set_viewport_size(PHONE)
    sign_in(page, cast["patient_alex"].email)

    # Today, with the tab bar at the bottom and the top menu out of the way.
    tabs = page.locator("nav.tab-bar")
    expect(tabs).to_be_visible()
    expect(page.locator("nav.top-nav")).to_be_hidden()
    expect(tabs.get_by_role("link", name="Today")).to_have_attribute("aria-current", "page")
    box = tabs.bounding_box()
    assert box is not None and box["y"] + box["height"] == pytest.approx(PHONE["height"], abs=1)
    _fits_the_phone(page)

    # Sessions sits behind "More".
    tabs.get_by_text("More").click()
    tabs.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sessions")
    _fits_the_phone(page)

    # A day, then a time, then confirm.
    days = page.locator(".day-strip a")
    assert days.count() >= 20
    days.nth(1).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Free times on "))).to_be_visible()
    _fits_the_phone(page)
    page.locator("a.time-link").nth(2).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your session")
    _fits_the_phone(page)
    page.get_by_label("Video").check()
    page.get_by_role("button", name="Book this session").click()

    expect(page.locator(".messages")).to_contain_text("Your session is booked")
    booked = page.get_by_role("region", name="Your booked sessions")
    expect(booked.get_by_role("link", name="Join the video call")).to_be_visible()
    _fits_the_phone(page)
    # The last of the page is not hidden behind the tab bar.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    last = page.locator("main > :last-child").bounding_box()
    bar = tabs.bounding_box()
    assert last is not None and bar is not None and last["y"] + last["height"] <= bar["y"]
    assert not page.problems, page.problems

    appointment = Appointment.objects.get()
    assert appointment.mode == "video"
    patient_mail = smtp.to(cast["patient_alex"].email)
    supporter_mail = smtp.to(cast["therapist_maria"].email)
    assert _invite_uids(patient_mail) == {appointment.ical_uid}
    assert _invite_uids(supporter_mail) == {appointment.ical_uid}

    # The mood and progress pages fit the phone too.
    tabs.get_by_role("link", name="Mood").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mood check-in")
    _fits_the_phone(page)
    tabs.get_by_text("More").click()
    tabs.get_by_role("link", name="My progress").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My progress")
    _fits_the_phone(page)
