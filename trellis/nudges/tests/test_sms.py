"""Texts through the SMS provider's REST API, against a fake provider server on a local
port: what goes out, how the provider's answers become outcomes (sent, 429 and retried, an
invalid or unsubscribed number stops texts and tells the supporter), the delivery-status
callbacks and their signatures, and the phone index an inbound text is matched by."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from trellis.accounts.models import User
from trellis.audit.models import AuditEvent
from trellis.nudges import dispatch, phones, services
from trellis.nudges.appointment_reminders import due_appointment_reminders
from trellis.nudges.channels import sender_for, sms
from trellis.nudges.models import (
    BlockReason,
    ContactBlock,
    Delivery,
    DeliveryStatus,
    Notification,
    PhoneIndex,
)
from trellis.nudges.tests.fake_sms_provider import FakeSmsProvider
from trellis.nudges.tests.sms_setup import (
    ALEX_PHONE,
    STATUS_PATH,
    TESTSERVER,
    TUESDAY_9,
    alex_texts,
    give_phone,
    point_at,
    post_from_provider,
    wednesday_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(settings: Any) -> Iterator[FakeSmsProvider]:
    with FakeSmsProvider() as fake:
        point_at(settings, fake)
        yield fake


def reminder_by_text(cast: Any) -> Delivery:
    """The 24-hour reminder of patient_alex's Wednesday session, queued for texting."""
    alex_texts(cast)
    appointment = wednesday_session(cast)
    assert due_appointment_reminders(TUESDAY_9) == 1
    return Delivery.objects.get(appointment_id=appointment.pk, channel="sms")


def test_a_reminder_goes_out_as_one_post_to_the_providers_messages_resource(
    cast: Any, provider: FakeSmsProvider
) -> None:
    delivery = reminder_by_text(cast)
    sent = dispatch.deliver(delivery.pk, now=TUESDAY_9)

    assert sent.status == DeliveryStatus.SENT
    [message] = provider.messages
    assert sent.provider_id == message.sid
    assert message.to == ALEX_PHONE
    assert message.from_ == provider.number
    assert message.status_callback == TESTSERVER + STATUS_PATH
    assert "Reply C to confirm, R for another time, X to cancel" in message.body
    assert "Wednesday 3 June at 09:00" in message.body  # the patient's zone (New York)
    assert f"{TESTSERVER}/nudges/session/" in message.body
    [request] = provider.requests
    assert request.authorized
    assert request.path == f"/2010-04-01/Accounts/{provider.account_sid}/Messages.json"


def test_a_text_names_no_care_and_no_supporter(cast: Any, provider: FakeSmsProvider) -> None:
    dispatch.deliver(reminder_by_text(cast).pk, now=TUESDAY_9)
    body = provider.messages[0].body.lower()
    for word in ("therap", "anxiety", "depress", "maria", "clinic", "video"):
        assert word not in body


def test_429_waits_for_retry_after_then_sends_once(cast: Any, provider: FakeSmsProvider) -> None:
    delivery = reminder_by_text(cast)
    provider.fail_next(1, status=429, retry_after=120)

    first = dispatch.deliver(delivery.pk, now=TUESDAY_9)
    assert first.status == DeliveryStatus.QUEUED
    assert first.attempts == 1
    assert first.reason == "rate_limited"
    assert first.next_attempt_at is not None
    assert first.next_attempt_at >= TUESDAY_9 + timedelta(seconds=120)
    assert provider.messages == []
    assert dispatch.deliver(delivery.pk, now=TUESDAY_9 + timedelta(seconds=5)).attempts == 1

    second = dispatch.deliver(delivery.pk, now=first.next_attempt_at)
    assert second.status == DeliveryStatus.SENT
    assert second.attempts == 2
    assert [r.status for r in provider.requests] == [429, 201]
    assert len(provider.messages) == 1


def test_a_server_error_is_temporary(cast: Any, provider: FakeSmsProvider) -> None:
    delivery = reminder_by_text(cast)
    provider.fail_next(1, status=503, retry_after=30)
    after = dispatch.deliver(delivery.pk, now=TUESDAY_9)
    assert after.status == DeliveryStatus.QUEUED
    assert after.reason == "provider_error_503"
    assert not ContactBlock.objects.filter(user=cast["patient_alex"]).exists()


def test_an_invalid_number_stops_texts_and_tells_the_supporter(
    cast: Any, provider: FakeSmsProvider
) -> None:
    delivery = reminder_by_text(cast)
    provider.invalid_numbers.add(ALEX_PHONE)

    failed = dispatch.deliver(delivery.pk, now=TUESDAY_9)

    assert failed.status == DeliveryStatus.FAILED
    assert failed.reason == "invalid_number"
    assert provider.requests[0].status == 400
    alex = cast["patient_alex"]
    block = ContactBlock.objects.get(user=alex, lifted_at__isnull=True)
    assert (block.channel, block.reason) == ("sms", BlockReason.PERMANENT_FAILURE)
    assert Notification.objects.filter(user=cast["therapist_maria"]).count() == 1
    later = services.availability(
        recipient=alex, enrollment=delivery.enrollment, at=TUESDAY_9, transactional=True
    )
    assert "sms" not in later.channels


def test_an_unsubscribed_recipient_is_permanent(cast: Any, provider: FakeSmsProvider) -> None:
    delivery = reminder_by_text(cast)
    provider.unsubscribed.add(ALEX_PHONE)
    failed = dispatch.deliver(delivery.pk, now=TUESDAY_9)
    assert (failed.status, failed.reason) == (DeliveryStatus.FAILED, "unsubscribed")
    assert ContactBlock.objects.filter(user=cast["patient_alex"], channel="sms").exists()


def test_credentials_refused_are_the_clinics_problem_not_the_patients(
    cast: Any, provider: FakeSmsProvider, settings: Any
) -> None:
    delivery = reminder_by_text(cast)
    settings.TRELLIS_SMS = {**provider.settings(), "TOKEN": "wrong"}
    after = dispatch.deliver(delivery.pk, now=TUESDAY_9)
    assert after.status == DeliveryStatus.QUEUED
    assert after.reason == "provider_refused_20003"
    assert not provider.requests[0].authorized
    assert not ContactBlock.objects.filter(user=cast["patient_alex"]).exists()


def test_an_unreachable_provider_is_temporary(cast: Any, settings: Any) -> None:
    with FakeSmsProvider() as fake:
        point_at(settings, fake)
        delivery = reminder_by_text(cast)
    # The server has stopped: nothing listens on that port any more.
    after = dispatch.deliver(delivery.pk, now=TUESDAY_9)
    assert (after.status, after.reason) == (DeliveryStatus.QUEUED, "provider_unreachable")


def test_without_settings_texts_are_not_available(cast: Any, settings: Any) -> None:
    alex = alex_texts(cast)
    settings.TRELLIS_SMS = {"BASE_URL": "https://api.twilio.com", "ACCOUNT": "", "TOKEN": ""}
    assert not sms.configured()
    assert sms.unavailable_reason(alex) == "sms_not_configured"
    appointment = wednesday_session(cast)
    reach = services.availability(
        recipient=alex, enrollment=appointment.enrollment, at=TUESDAY_9, transactional=True
    )
    assert (reach.available, reach.reason) == (False, "no_channel")
    due_appointment_reminders(TUESDAY_9)
    [reminder] = Delivery.objects.filter(appointment_id=appointment.pk)
    assert (reminder.status, reminder.reason) == (DeliveryStatus.SUPPRESSED, "sms_not_configured")


def test_without_a_number_texts_are_not_available(cast: Any, provider: FakeSmsProvider) -> None:
    alex = cast["patient_alex"]
    assert sms.unavailable_reason(alex) == "no_phone"
    give_phone(alex, ALEX_PHONE)
    assert sms.unavailable_reason(alex) == ""


def test_the_sms_channel_is_registered() -> None:
    assert sender_for("sms").channel == "sms"


def test_outcomes_from_the_providers_answers() -> None:
    assert sms.outcome_for(201, b'{"sid": "SM1"}', {}).status == "sent"
    assert sms.outcome_for(201, b"not json", {}).status == "temporary"
    limited = sms.outcome_for(429, b'{"code": 20429}', {"Retry-After": "7"})
    assert (limited.status, limited.retry_after) == ("temporary", 7.0)
    assert sms.outcome_for(400, b'{"code": 21614}', {}).reason == "invalid_number"
    assert sms.outcome_for(400, b'{"code": 21610}', {}).reason == "unsubscribed"
    assert sms.outcome_for(400, b'{"code": 21602}', {}).status == "temporary"


# Delivery-status callbacks ------------------------------------------------------------


def sent_reminder(cast: Any, provider: FakeSmsProvider) -> Delivery:
    delivery = dispatch.deliver(reminder_by_text(cast).pk, now=TUESDAY_9)
    assert delivery.status == DeliveryStatus.SENT
    return delivery


def test_a_signed_delivered_callback_marks_it_delivered(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "delivered")
    response = post_from_provider(client, provider, STATUS_PATH, params)
    assert response.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.delivered_at is not None


@pytest.mark.parametrize("sign", ["none", "bad"])
def test_an_unsigned_or_badly_signed_callback_is_403_and_changes_nothing(
    cast: Any, provider: FakeSmsProvider, client: Any, sign: str
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "undelivered", error_code="30006")
    response = post_from_provider(client, provider, STATUS_PATH, params, sign=sign)
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert not ContactBlock.objects.exists()


def test_a_signature_for_other_parameters_is_403(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "delivered")
    signed_for = provider.sign(TESTSERVER + STATUS_PATH, params)
    params["MessageStatus"] = "undelivered"
    response = client.post(
        STATUS_PATH,
        data="&".join(f"{k}={v}" for k, v in params.items()).replace("+", "%2B"),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signed_for,
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": "not-a-sid"},
        {"MessageStatus": "exploded"},
        {"ErrorCode": "30006; drop table"},
    ],
)
def test_a_signed_but_malformed_callback_is_400_and_changes_nothing(
    cast: Any, provider: FakeSmsProvider, client: Any, change: dict[str, str]
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "undelivered", error_code="30006")
    params.update(change)
    response = post_from_provider(client, provider, STATUS_PATH, params)
    assert response.status_code == 400
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert not ContactBlock.objects.exists()


def test_a_callback_without_its_fields_is_400(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    response = post_from_provider(client, provider, STATUS_PATH, {"AccountSid": "AC1"})
    assert response.status_code == 400


def test_a_callback_needs_post(client: Any) -> None:
    assert client.get(STATUS_PATH).status_code == 405


def test_a_repeated_failure_callback_blocks_and_tells_once(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "undelivered", error_code="30006")
    for _ in range(2):
        assert post_from_provider(client, provider, STATUS_PATH, params).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.reason == "undelivered_30006"
    assert ContactBlock.objects.filter(user=cast["patient_alex"], channel="sms").count() == 1
    assert Notification.objects.filter(user=cast["therapist_maria"]).count() == 1
    assert AuditEvent.objects.filter(action="nudges.contact_failed").count() == 1


def test_a_repeated_delivered_callback_changes_nothing_twice(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "delivered")
    post_from_provider(client, provider, STATUS_PATH, params)
    first = Delivery.objects.get(pk=delivery.pk)
    post_from_provider(client, provider, STATUS_PATH, params)
    again = Delivery.objects.get(pk=delivery.pk)
    assert (again.status, again.delivered_at, again.updated_at) == (
        first.status,
        first.delivered_at,
        first.updated_at,
    )


def test_an_undelivered_text_for_a_passing_reason_is_tried_again(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "undelivered", error_code="30003")
    assert post_from_provider(client, provider, STATUS_PATH, params).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED
    assert not ContactBlock.objects.exists()


def test_a_callback_for_an_unknown_message_changes_nothing(
    cast: Any, provider: FakeSmsProvider, client: Any
) -> None:
    delivery = sent_reminder(cast, provider)
    params = provider.status_params(delivery.provider_id, "undelivered", error_code="30006")
    params["MessageSid"] = "SM" + "0" * 32
    assert post_from_provider(client, provider, STATUS_PATH, params).status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_callbacks_are_refused_when_texts_are_not_set_up(
    cast: Any, provider: FakeSmsProvider, client: Any, settings: Any
) -> None:
    delivery = sent_reminder(cast, provider)
    settings.TRELLIS_SMS = {}
    params = provider.status_params(delivery.provider_id, "delivered")
    assert post_from_provider(client, provider, STATUS_PATH, params).status_code == 403


# The phone index ------------------------------------------------------------------------


def test_numbers_are_normalized_to_e164() -> None:
    assert phones.normalize("+1 (555) 123-0001") == ALEX_PHONE
    assert phones.normalize("001 555 123 0001") == ALEX_PHONE
    assert phones.normalize("555 123 0001") == ""
    assert phones.normalize("") == ""


def test_the_index_finds_a_person_by_their_number_and_forgets_a_removed_one(cast: Any) -> None:
    alex: User = cast["patient_alex"]
    give_phone(alex, "+1 555 123 0001")
    row = PhoneIndex.objects.get(user=alex)
    assert ALEX_PHONE not in row.number_hash
    assert len(row.number_hash) == 64
    assert phones.users_for_number(ALEX_PHONE) == [alex]
    assert phones.users_for_number("+15559999999") == []
    give_phone(alex, "")
    assert not PhoneIndex.objects.filter(user=alex).exists()
    assert phones.users_for_number(ALEX_PHONE) == []


def test_the_index_still_answers_after_a_key_rotation(cast: Any, settings: Any) -> None:
    alex: User = cast["patient_alex"]
    give_phone(alex, ALEX_PHONE)
    before = PhoneIndex.objects.get(user=alex).number_hash
    new_key = base64.b64encode(os.urandom(32)).decode()
    settings.TRELLIS_DATA_KEYS = f"new1:{new_key},{settings.TRELLIS_DATA_KEYS}"
    assert phones.users_for_number(ALEX_PHONE) == [alex]
    assert phones.refresh_all() >= 1
    assert PhoneIndex.objects.get(user=alex).number_hash != before
    assert phones.users_for_number(ALEX_PHONE) == [alex]


def test_sending_a_text_brings_the_index_up_to_date(cast: Any, provider: FakeSmsProvider) -> None:
    delivery = reminder_by_text(cast)
    alex: User = cast["patient_alex"]
    alex.phone = "+15551230002"
    alex.save(update_fields=["phone"])  # saved in accounts, which cannot call nudges
    dispatch.deliver(delivery.pk, now=TUESDAY_9)
    assert phones.users_for_number("+15551230002") == [alex]
    assert phones.users_for_number(ALEX_PHONE) == []
