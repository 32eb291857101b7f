"""A two-way session text, end to end: patient_alex's session with therapist_maria is booked;
the day-before reminder goes by text to the fake SMS provider (a real HTTP server speaking
the provider's API); the provider posts its signed delivery report and then Alex's reply
"C" to a running Trellis; and Maria, signed in in Chromium, sees "Confirmed by text" on her
Sessions page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from test_login_browser import enter_code, sign_in_with_password

from trellis.appointments.tests.helpers import alex_booked_session
from trellis.core.testing import current_totp
from trellis.demo import personas
from trellis.nudges import dispatch
from trellis.nudges.appointment_reminders import due_appointment_reminders
from trellis.nudges.models import Delivery, DeliveryStatus
from trellis.nudges.tests.fake_sms_provider import FakeSmsProvider
from trellis.nudges.tests.sms_setup import (
    ALEX_PHONE,
    INBOUND_PATH,
    choose_channels,
    give_phone,
)

pytestmark = pytest.mark.browser


def test_a_text_reply_c_confirms_the_session_and_the_supporter_sees_it(
    cast: personas.Cast, page: Any, live_server: Any, settings: Any
) -> None:
    alex = cast["patient_alex"]
    give_phone(alex, ALEX_PHONE)
    choose_channels(alex, ["sms"], zone="UTC")
    session = alex_booked_session(cast)
    day_before = session.starts_at - timedelta(hours=24)

    with FakeSmsProvider() as provider:
        settings.TRELLIS_SMS = provider.settings()
        settings.TRELLIS_BASE_URL = live_server.url

        # The clock finds the reminder due; a worker sends it to the provider.
        assert due_appointment_reminders(day_before) == 1
        reminder = Delivery.objects.get(appointment_id=session.pk, channel="sms")
        assert dispatch.deliver(reminder.pk, now=day_before).status == DeliveryStatus.SENT
        [text] = provider.messages_to(ALEX_PHONE)
        assert "Reply C to confirm, R for another time, X to cancel" in text.body
        assert text.status_callback == live_server.url + "/nudges/sms/status/"

        # The provider reports it delivered, then Alex answers C: both signed, over HTTP.
        assert provider.send_status(text.sid, "delivered")[0] == 204
        status, _twiml = provider.deliver_inbound(
            live_server.url + INBOUND_PATH, from_=ALEX_PHONE, body="C"
        )
        assert status == 200
        assert "is confirmed" in provider.messages_to(ALEX_PHONE)[-1].body

    reminder.refresh_from_db()
    assert reminder.status == DeliveryStatus.DELIVERED
    session.refresh_from_db()
    assert session.confirmed_via == "sms"

    maria = cast["therapist_maria"]
    sign_in_with_password(page, maria.email)
    enter_code(page, current_totp(maria))
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto("/clinic/sessions/")
    upcoming = page.locator("section[aria-labelledby=upcoming-heading]")
    row = upcoming.locator("tr", has_text=alex.display_name)
    expect(row).to_contain_text(re.compile(r"Confirmed by text, \d{1,2} \w{3} \d{2}:\d{2}"))
    assert not page.problems, page.problems
