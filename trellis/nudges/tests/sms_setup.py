"""Building blocks for the text-message tests: patient_alex with a phone number and texts
chosen, a session booked with therapist_maria, Trellis pointed at the fake provider, and
signed posts from the provider through Django's test client."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from trellis.accounts.models import User
from trellis.appointments import services as sessions
from trellis.appointments.models import Appointment
from trellis.appointments.tests.helpers import NOW, WEDNESDAY_9, alex_with_maria
from trellis.care.models import Preferences
from trellis.nudges import phones
from trellis.nudges.tests.fake_sms_provider import FakeSmsProvider, signature

ALEX_PHONE = "+15551230001"
TESTSERVER = "http://testserver"
STATUS_PATH = "/nudges/sms/status/"
INBOUND_PATH = "/nudges/sms/inbound/"


def give_phone(user: User, number: str) -> User:
    user.phone = number
    user.save(update_fields=["phone"])
    phones.refresh_phone_index([user])
    return user


def choose_channels(
    user: User, channels: list[str], *, zone: str = "America/New_York"
) -> Preferences:
    prefs, _created = Preferences.objects.update_or_create(
        user=user, defaults={"reminder_channels": channels, "time_zone": zone}
    )
    return prefs


def point_at(settings: Any, provider: FakeSmsProvider) -> None:
    """Trellis sends through `provider`; its callbacks come to the test client's host."""
    settings.TRELLIS_SMS = provider.settings()
    settings.TRELLIS_BASE_URL = TESTSERVER


def alex_texts(cast: Any) -> User:
    alex: User = cast["patient_alex"]
    give_phone(alex, ALEX_PHONE)
    choose_channels(alex, ["sms"])
    return alex


def wednesday_session(cast: Any) -> Appointment:
    """patient_alex's video session with therapist_maria on Wednesday 3 June 2026, 09:00 in
    New York, booked on Monday 1 June (helpers.NOW)."""
    enrollment = alex_with_maria(cast)
    return sessions.book(
        enrollment,
        supporter=cast["therapist_maria"],
        starts_at=WEDNESDAY_9,
        mode="video",
        actor=cast["patient_alex"],
        client_id=uuid.uuid4(),
        now=NOW,
    )


# The day before the Wednesday session, 09:00 in New York: its 24-hour reminder is due.
TUESDAY_9 = WEDNESDAY_9 - timedelta(hours=24)


def post_from_provider(
    client: Client,
    provider: FakeSmsProvider,
    path: str,
    params: dict[str, str],
    *,
    sign: str = "good",
) -> Any:
    """POST `params` form-encoded to `path` as the provider would: sign="good" signs it,
    "bad" signs it with another key, "none" sends no signature."""
    headers: dict[str, str] = {}
    if sign == "good":
        headers["HTTP_X_TWILIO_SIGNATURE"] = provider.sign(TESTSERVER + path, params)
    elif sign == "bad":
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature("not-the-token", TESTSERVER + path, params)
    return client.post(
        path,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        **headers,  # type: ignore[arg-type]
    )
