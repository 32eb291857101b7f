"""The push channel against a push service speaking the Web Push protocol on a local port
(tests/fake_push_service.py): what arrives is VAPID-signed and encrypted to the device,
says nothing about health, and every answer of the push service has its outcome."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from trellis.audit.models import AuditEvent
from trellis.core import timeutil, vapid
from trellis.engagement.models import EngagementEvent
from trellis.nudges import dispatch, webpush
from trellis.nudges.channels import push as push_channel
from trellis.nudges.channels import sender_for
from trellis.nudges.channels.base import Message
from trellis.nudges.models import (
    BlockReason,
    ContactBlock,
    DeliveryStatus,
    Notification,
    PushSubscription,
)
from trellis.nudges.tests.fake_push_service import FakePushService, fake_push_service
from trellis.nudges.tests.push_setup import (
    AT,
    alex_with_a_device,
    queue_push,
    subscribe_device,
    use_new_keys,
)

LOCK_SCREEN = {"title": "Trellis", "body": "You have something new in Trellis."}


@pytest.fixture
def service() -> Any:
    with fake_push_service() as running:
        yield running


@pytest.fixture
def keys(settings: Any) -> webpush.VapidKeys:
    return use_new_keys(settings)


def test_a_due_nudge_arrives_signed_encrypted_and_says_nothing_about_health(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    device = alex_with_a_device(cast, service, keys)
    row = queue_push(cast, template="questionnaire_due")
    sent = dispatch.deliver(row.pk, now=AT)

    assert sent.status == DeliveryStatus.SENT, sent.reason
    [message] = service.messages_for(device)
    # Signed with Trellis's key (the fake verified the JWT with it), for this service.
    assert message.vapid_key == keys.public
    assert message.claims["aud"] == service.origin
    assert message.claims["sub"] == "mailto:care@riverside.example"
    assert message.headers["content-encoding"] == "aes128gcm"
    assert message.ttl == push_channel.DEFAULT_TTL
    assert message.headers["urgency"] == "normal"
    assert message.headers["topic"] == push_channel.topic_for(sent)
    # What the lock screen shows, decrypted with the device's own key.
    shown = message.json()
    assert {k: shown[k] for k in ("title", "body")} == LOCK_SCREEN
    assert shown["url"] == webpush.opened_path(sent.pk)
    plain = message.plaintext.decode().lower()
    for word in ("questionnaire", "check-in", "phq", "mood", "anxiety", "alex", "riverside"):
        assert word not in plain
    assert sent.provider_id.startswith(service.origin + "/message/")
    assert PushSubscription.objects.get().last_success_at is not None
    assert EngagementEvent.objects.filter(type="reminder_sent", value="push").count() == 1


def test_the_lock_screen_line_is_in_the_patients_language(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    alex = cast["patient_alex"]
    alex.language = "fi"
    alex.save(update_fields=["language"])
    device = alex_with_a_device(cast, service, keys)
    dispatch.deliver(queue_push(cast).pk, now=AT)
    [message] = service.messages_for(device)
    expected = json.loads(push_channel.payload(queue_push(cast), "fi"))["body"]
    assert message.json()["body"] == expected
    assert message.json()["title"] == "Trellis"


def test_every_device_of_the_person_gets_it(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    phone = alex_with_a_device(cast, service, keys)
    laptop = service.new_device(application_server_key=keys.public)
    subscribe_device(cast["patient_alex"], laptop)
    sent = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert sent.status == DeliveryStatus.SENT
    assert len(service.messages_for(phone)) == len(service.messages_for(laptop)) == 1


@pytest.mark.parametrize("gone", [410, 404])
def test_a_gone_subscription_is_removed_and_the_others_still_get_it(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys, gone: int
) -> None:
    old = alex_with_a_device(cast, service, keys)
    new = service.new_device(application_server_key=keys.public)
    subscribe_device(cast["patient_alex"], new)
    old.answer = gone
    sent = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert sent.status == DeliveryStatus.SENT
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [new.endpoint]
    assert len(service.messages_for(new)) == 1
    assert AuditEvent.objects.filter(action="push.expired").count() == 1
    assert not ContactBlock.objects.exists()


def test_the_only_device_gone_is_permanent_blocks_push_and_tells_the_supporter(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    device = alex_with_a_device(cast, service, keys)
    device.answer = 410
    failed = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert failed.status == DeliveryStatus.FAILED
    assert failed.reason == "push_subscription_gone"
    assert not PushSubscription.objects.exists()
    block = ContactBlock.objects.get(user=cast["patient_alex"])
    assert (block.channel, block.reason) == ("push", BlockReason.PERMANENT_FAILURE)
    assert Notification.objects.filter(user=cast["therapist_maria"]).count() == 1
    # The next push waiting for him is not even tried.
    later = dispatch.deliver(queue_push(cast, key="push-later").pk, now=AT)
    assert later.status == DeliveryStatus.SUPPRESSED
    assert [a.status for a in service.attempts] == [410]


def test_429_is_temporary_and_keeps_the_push_services_retry_after(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    device = alex_with_a_device(cast, service, keys)
    device.answer, device.retry_after = 429, "900"
    waiting = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.QUEUED, 1)
    assert waiting.reason == "push service answered 429"
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at >= AT + timedelta(seconds=900)
    assert PushSubscription.objects.exists() and not ContactBlock.objects.exists()
    # The push service takes it on the next attempt: sent once, under the same Topic.
    device.answer = 201
    sent = dispatch.deliver(waiting.pk, now=waiting.next_attempt_at)
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 2)
    assert len(service.messages_for(device)) == 1


def test_a_retry_after_date_is_read_as_seconds_from_now() -> None:
    now = AT
    assert push_channel.retry_after_seconds("Tue, 03 Mar 2026 15:02:00 GMT", now) == 120
    assert push_channel.retry_after_seconds("30", now) == 30
    assert push_channel.retry_after_seconds("soon", now) is None
    assert push_channel.retry_after_seconds(None, now) is None


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_temporary_and_gives_up_after_the_last_attempt_without_a_block(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys, status: int, settings: Any
) -> None:
    settings.TRELLIS_NUDGES_MAX_ATTEMPTS = 2
    device = alex_with_a_device(cast, service, keys)
    device.answer = status
    first = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert first.status == DeliveryStatus.QUEUED
    assert first.next_attempt_at is not None
    last = dispatch.deliver(first.pk, now=first.next_attempt_at)
    assert last.status == DeliveryStatus.FAILED
    assert "gave up after 2 attempts" in last.reason
    assert not ContactBlock.objects.exists()
    assert PushSubscription.objects.exists()


def test_an_unreachable_push_service_is_temporary(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    alex_with_a_device(cast, service, keys)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    PushSubscription.objects.update(endpoint=f"http://127.0.0.1:{closed_port}/push/x")
    waiting = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert (waiting.status, waiting.reason) == (DeliveryStatus.QUEUED, "push service unreachable")


def test_a_key_the_subscription_was_not_made_with_is_refused_and_the_device_kept(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys, settings: Any
) -> None:
    device = alex_with_a_device(cast, service, keys)
    settings.TRELLIS_VAPID_PRIVATE_KEY, settings.TRELLIS_VAPID_PUBLIC_KEY = vapid.generate_pair()
    failed = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert failed.status == DeliveryStatus.FAILED
    assert failed.reason == "push service refused (403)"
    assert service.attempts[-1].status == 403
    assert not service.messages_for(device)
    assert PushSubscription.objects.exists(), "a key problem is Trellis's, not the device's"


def test_with_no_device_left_the_channel_answers_permanent(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    alex_with_a_device(cast, service, keys)
    row = queue_push(cast)
    PushSubscription.objects.all().delete()
    outcome = sender_for("push").send(row, Message("s", "t", "", "short", "/today/"))
    assert (outcome.status, outcome.reason) == ("permanent", "no_push_subscription")


def test_without_keys_in_production_push_waits_and_nothing_is_posted(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys, settings: Any
) -> None:
    alex_with_a_device(cast, service, keys)
    settings.TRELLIS_VAPID_PRIVATE_KEY = ""
    settings.PRODUCTION = True
    waiting = dispatch.deliver(queue_push(cast).pk, now=AT)
    assert (waiting.status, waiting.reason) == (DeliveryStatus.QUEUED, "push_not_configured")
    assert not service.attempts


def test_the_ttl_is_the_time_left_before_the_nudge_expires(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    device = alex_with_a_device(cast, service, keys)
    expires = timeutil.now() + timedelta(hours=2)
    dispatch.deliver(queue_push(cast, expires_at=expires).pk, now=AT)
    [message] = service.messages_for(device)
    assert 7000 < message.ttl <= 7200


def test_the_push_service_checks_what_trellis_sends(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    """The fake is strict: a message without TTL, unsigned, or signed for another audience
    is refused, so the tests above could fail."""
    device = alex_with_a_device(cast, service, keys)
    assert service.receive(device.id, {}, b"x")[0] == 401
    assert service.receive("nobody", {}, b"")[0] == 404
    row = queue_push(cast)
    dispatch.deliver(row.pk, now=AT)
    [good] = service.messages_for(device)
    no_ttl = {k: v for k, v in good.headers.items() if k != "ttl"}
    assert service.receive(device.id, no_ttl, good.body)[0] == 400
    forged = dict(good.headers)
    token = forged["authorization"]
    forged["authorization"] = token.replace("t=", "t=x", 1)
    assert service.receive(device.id, forged, good.body)[0] == 401
    assert service.receive(device.id, good.headers, b"\x00" * 5000)[0] == 413
    assert len(service.messages_for(device)) == 1


def test_tapping_the_notification_records_it_opened_once_and_goes_on(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    device = alex_with_a_device(cast, service, keys)
    sent = dispatch.deliver(queue_push(cast).pk, now=AT)
    url = service.messages_for(device)[0].json()["url"]
    response = Client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/today/"
    sent.refresh_from_db()
    assert sent.opened_at is not None
    assert Client().get(url).status_code == 302
    assert EngagementEvent.objects.filter(type="reminder_opened", value="push").count() == 1


def test_a_forged_or_foreign_opening_link_is_404_and_records_nothing(
    cast: Any, service: FakePushService, keys: webpush.VapidKeys
) -> None:
    alex_with_a_device(cast, service, keys)
    row = queue_push(cast)
    assert Client().get("/nudges/push/open/not-a-token/").status_code == 404
    tampered = webpush.opened_token(row.pk)[:-2] + "xx"
    assert Client().get(f"/nudges/push/open/{tampered}/").status_code == 404
    from_email = queue_push(cast, key="mail")  # a push link for a delivery that is no push
    from_email.channel = "email"
    from_email.save(update_fields=["channel"])
    assert Client().get(webpush.opened_path(from_email.pk)).status_code == 404
    row.refresh_from_db()
    assert row.opened_at is None
    assert not EngagementEvent.objects.filter(type="reminder_opened").exists()


def test_the_service_worker_shows_a_push_and_opens_its_link(client: Client) -> None:
    script = client.get("/sw.js").content.decode()
    assert 'addEventListener("push"' in script
    assert "showNotification" in script
    assert 'addEventListener("notificationclick"' in script
    assert "openWindow" in script


def test_the_notifications_page_offers_this_device_to_patients_only(
    cast: Any, client_for: Any
) -> None:
    page = client_for("patient_alex").get("/notifications/").content.decode()
    assert 'id="push-device"' in page and "Get reminders on this device" in page
    assert 'src="/static/nudges/push.js"' in page
    staff = client_for("therapist_maria").get("/notifications/").content.decode()
    assert 'id="push-device"' not in staff
