"""Texts patients send to the clinic's number: the provider posts each one, signed, to
Trellis's inbound URL, and Trellis answers in the provider's reply format (TwiML).

C confirms the next session, R asks for another time, X cancels it (through the sessions
service), STOP and its carrier synonyms stop every channel, START lifts that, HELP helps,
and an unknown word gets a short help text once a day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.appointments.tests.helpers import alex_booked_session
from trellis.audit.models import AuditEvent
from trellis.core import timeutil
from trellis.nudges import replies, services
from trellis.nudges.models import BlockReason, ContactBlock, InboundText, Notification
from trellis.nudges.tests.fake_sms_provider import FakeSmsProvider, new_sid, twiml_messages
from trellis.nudges.tests.sms_setup import (
    ALEX_PHONE,
    INBOUND_PATH,
    give_phone,
    point_at,
    post_from_provider,
)

pytestmark = pytest.mark.django_db

STRANGER = "+15557770000"


@pytest.fixture
def provider(settings: Any) -> Iterator[FakeSmsProvider]:
    with FakeSmsProvider() as fake:
        point_at(settings, fake)
        yield fake


@pytest.fixture
def session(cast: Any) -> Appointment:
    """patient_alex, whose phone Trellis knows, with a session two days or more ahead."""
    give_phone(cast["patient_alex"], ALEX_PHONE)
    return alex_booked_session(cast)


def text(
    client: Any,
    provider: FakeSmsProvider,
    body: str,
    *,
    from_: str = ALEX_PHONE,
    sid: str | None = None,
    sign: str = "good",
) -> tuple[int, list[str]]:
    """A text from `from_`, posted as the provider posts it; (status, the texts answered)."""
    params = provider.inbound_params(from_=from_, body=body, sid=sid)
    response = post_from_provider(client, provider, INBOUND_PATH, params, sign=sign)
    content = response.content.decode()
    if response.status_code == 200:
        assert response["Content-Type"].startswith("text/xml")
        return 200, twiml_messages(content)
    return response.status_code, []


def test_c_confirms_the_next_session(
    cast: Any, provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    status, [answer] = text(client, provider, "C")
    assert status == 200
    assert "is confirmed" in answer
    session.refresh_from_db()
    assert session.confirmed_at is not None
    assert session.confirmed_via == "sms"
    assert session.status == AppointmentStatus.BOOKED
    received = InboundText.objects.get()
    assert (received.word, received.outcome, received.user) == (
        "C",
        "confirmed",
        cast["patient_alex"],
    )
    assert received.appointment_id == session.pk
    assert received.body == "C"
    assert AuditEvent.objects.filter(action="sessions.confirmed").count() == 1


def test_the_same_text_posted_twice_changes_nothing_twice(
    provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    sid = new_sid()
    assert text(client, provider, "c.", sid=sid)[1]
    confirmed_at = Appointment.objects.get(pk=session.pk).confirmed_at
    assert text(client, provider, "c.", sid=sid) == (200, [])
    assert InboundText.objects.count() == 1
    assert Appointment.objects.get(pk=session.pk).confirmed_at == confirmed_at
    assert AuditEvent.objects.filter(action="sessions.confirmed").count() == 1


def test_r_asks_for_another_time_with_a_link_to_choose_one(
    provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    status, [answer] = text(client, provider, "R please")
    assert status == 200
    assert "http://testserver" + reverse("sessions:reschedule", args=[session.pk]) in answer
    session.refresh_from_db()
    assert session.another_time_requested_at is not None
    assert session.another_time_requested_via == "sms"
    assert session.status == AppointmentStatus.BOOKED
    text(client, provider, "R")
    [told] = Notification.objects.filter(user=session.supporter)
    assert told.title == "A patient asked for another session time"


def test_x_cancels_through_the_sessions_service(
    cast: Any, provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    status, [answer] = text(client, provider, "x")
    assert status == 200
    assert "is cancelled" in answer
    session.refresh_from_db()
    assert session.status == AppointmentStatus.CANCELLED
    event = AuditEvent.objects.get(action="sessions.cancelled")
    assert event.actor_id == cast["patient_alex"].pk
    assert event.details["by"] == "patient"


def test_x_inside_the_clinics_notice_is_refused_with_the_reason(
    cast: Any, provider: FakeSmsProvider, session: Appointment
) -> None:
    answer = replies.receive_text(
        provider_id=new_sid(),
        from_number=ALEX_PHONE,
        body="X",
        at=session.starts_at - timedelta(hours=2),
    )
    assert answer is not None
    assert answer.outcome == "refused_x"
    assert "24 hours before" in answer.text
    session.refresh_from_db()
    assert session.status == AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    "word", ["STOP", "stop", "StopAll", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"]
)
def test_stop_and_its_synonyms_stop_every_channel(
    cast: Any, provider: FakeSmsProvider, client: Any, session: Appointment, word: str
) -> None:
    status, [answer] = text(client, provider, word)
    assert status == 200
    assert "START" in answer
    alex = cast["patient_alex"]
    block = ContactBlock.objects.get(user=alex, lifted_at__isnull=True)
    assert (block.channel, block.reason) == ("", BlockReason.STOP)
    reach = services.availability(
        recipient=alex, enrollment=session.enrollment, at=timeutil.now(), transactional=True
    )
    assert (reach.available, reach.reason) == (False, "blocked_stop")
    session.refresh_from_db()
    assert session.status == AppointmentStatus.BOOKED  # CANCEL stops texts, X cancels


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_lifts_the_stop(
    cast: Any, provider: FakeSmsProvider, client: Any, session: Appointment, word: str
) -> None:
    text(client, provider, "STOP")
    status, [answer] = text(client, provider, word)
    assert status == 200
    assert "again" in answer
    assert not ContactBlock.objects.filter(user=cast["patient_alex"], lifted_at__isnull=True)


def test_help_answers_the_reply_words(
    provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    for _ in range(2):
        status, [answer] = text(client, provider, "HELP")
        assert status == 200
        assert "C to confirm" in answer and "STOP" in answer


def test_an_unknown_word_gets_help_once_a_day(
    provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    status, [answer] = text(client, provider, "Maybe later?")
    assert status == 200
    assert answer.startswith("Sorry, we did not understand.")
    assert text(client, provider, "what") == (200, [])
    assert text(client, provider, "hmm") == (200, [])
    assert list(InboundText.objects.values_list("outcome", flat=True).order_by("received_at")) == [
        "unknown_word",
        "unknown_word_quiet",
        "unknown_word_quiet",
    ]
    next_day = replies.receive_text(
        provider_id=new_sid(),
        from_number=ALEX_PHONE,
        body="what",
        at=timeutil.now() + timedelta(hours=25),
    )
    assert next_day is not None and next_day.outcome == "unknown_word"


def test_a_text_from_an_unknown_number_changes_nothing_and_is_answered_once(
    provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    status, [answer] = text(client, provider, "C", from_=STRANGER)
    assert status == 200
    assert "not known" in answer
    assert text(client, provider, "STOP", from_=STRANGER) == (200, [])
    session.refresh_from_db()
    assert session.confirmed_at is None
    assert not ContactBlock.objects.exists()
    assert set(InboundText.objects.values_list("user", flat=True)) == {None}


def test_a_reply_without_an_upcoming_session_says_so(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    give_phone(cast["patient_alex"], ALEX_PHONE)
    status, [answer] = text(client, provider, "C")
    assert status == 200
    assert "no session coming up" in answer
    assert InboundText.objects.get().outcome == "no_session"


@pytest.mark.parametrize("sign", ["none", "bad"])
def test_an_unsigned_inbound_text_is_403_and_nothing_is_recorded(
    provider: FakeSmsProvider, client: Any, session: Appointment, sign: str
) -> None:
    assert text(client, provider, "X", sign=sign) == (403, [])
    assert not InboundText.objects.exists()
    session.refresh_from_db()
    assert session.status == AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": "123"},
        {"From": ""},
        {"From": "+1 555; DROP"},
        {"AccountSid": "AC" + "0" * 32},
    ],
)
def test_a_signed_but_malformed_inbound_text_is_400(
    provider: FakeSmsProvider, client: Any, session: Appointment, change: dict[str, str]
) -> None:
    params = provider.inbound_params(from_=ALEX_PHONE, body="X") | change
    response = post_from_provider(client, provider, INBOUND_PATH, params)
    assert response.status_code == 400
    assert not InboundText.objects.exists()


def test_an_inbound_text_without_a_body_is_400(
    provider: FakeSmsProvider, client: Any, session: Appointment
) -> None:
    params = provider.inbound_params(from_=ALEX_PHONE, body="X")
    del params["Body"]
    assert post_from_provider(client, provider, INBOUND_PATH, params).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_provider_posts_over_http_and_sends_the_answer_back(
    cast: Any, settings: Any, live_server: Any
) -> None:
    """The fake provider itself posts the signed text to a running Trellis and texts the
    TwiML answer back to the patient, as the real one does."""
    with FakeSmsProvider() as provider:
        point_at(settings, provider)
        settings.TRELLIS_BASE_URL = live_server.url
        give_phone(cast["patient_alex"], ALEX_PHONE)
        session = alex_booked_session(cast)
        url = live_server.url + INBOUND_PATH
        status, _answer = provider.deliver_inbound(url, from_=ALEX_PHONE, body="C")
        assert status == 200
        [reply] = provider.messages_to(ALEX_PHONE)
        assert "is confirmed" in reply.body
        assert provider.deliver_inbound(url, from_=ALEX_PHONE, body="C", signed=False)[0] == 403
    session.refresh_from_db()
    assert session.confirmed_via == "sms"
