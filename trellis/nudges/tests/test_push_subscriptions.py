"""A patient's device subscribing to web push, and unsubscribing: the page posts the
browser's PushSubscription as JSON with its CSRF token; anything else is refused with the
reason and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.core.testing import sign_in
from trellis.nudges import services
from trellis.nudges.models import BlockReason, Channel, ContactBlock, DeliveryStatus
from trellis.nudges.models import PushSubscription as Sub
from trellis.nudges.tests.fake_push_service import FakePushService, fake_push_service
from trellis.nudges.tests.push_setup import (
    alex_enrolled,
    alex_with_a_device,
    choose_push,
    queue_push,
    use_new_keys,
)

SUBSCRIBE = "/nudges/push/subscriptions/"
UNSUBSCRIBE = "/nudges/push/subscriptions/remove/"


@pytest.fixture
def service() -> Any:
    with fake_push_service() as running:
        yield running


@pytest.fixture
def keys(settings: Any) -> Any:
    return use_new_keys(settings)


def post_json(client: Client, path: str, body: Any, **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data, content_type="application/json", **extra)


def test_a_patient_subscribes_a_device(
    cast: Any, client_for: Any, service: FakePushService, keys: Any
) -> None:
    device = service.new_device(application_server_key=keys.public)
    response = post_json(
        client_for("patient_alex"), SUBSCRIBE, device.subscription(), HTTP_USER_AGENT="Phone"
    )
    assert response.status_code == 201, response.content
    assert response.json()["new"] is True
    row = Sub.objects.get()
    assert row.user == cast["patient_alex"]
    assert (row.endpoint, row.p256dh, row.auth) == (device.endpoint, device.p256dh, device.auth)
    assert row.user_agent == "Phone"
    assert AuditEvent.objects.filter(action="push.subscribe", object_id=str(row.pk)).count() == 1


def test_the_same_device_again_is_200_and_writes_nothing_new(
    cast: Any, client_for: Any, service: FakePushService, keys: Any
) -> None:
    device = service.new_device()
    client = client_for("patient_alex")
    assert post_json(client, SUBSCRIBE, device.subscription()).status_code == 201
    again = post_json(client, SUBSCRIBE, device.subscription())
    assert again.status_code == 200 and again.json()["new"] is False
    assert Sub.objects.count() == 1
    assert AuditEvent.objects.filter(action="push.subscribe").count() == 1


def test_renewed_keys_for_the_same_endpoint_replace_the_old_ones(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    device = service.new_device()
    client = client_for("patient_alex")
    post_json(client, SUBSCRIBE, device.subscription())
    renewed = service.new_device()
    body = {**renewed.subscription(), "endpoint": device.endpoint}
    assert post_json(client, SUBSCRIBE, body).status_code == 200
    row = Sub.objects.get()
    assert (row.p256dh, row.auth) == (renewed.p256dh, renewed.auth)
    assert AuditEvent.objects.filter(action="push.subscribe").count() == 2


def test_a_device_that_is_another_persons_is_refused_and_nothing_changes(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    device = service.new_device()
    post_json(client_for("patient_alex"), SUBSCRIBE, device.subscription())
    before = AuditEvent.objects.count()
    intruder = service.new_device()
    body = {**intruder.subscription(), "endpoint": device.endpoint}
    response = post_json(client_for("patient_farah"), SUBSCRIBE, body)
    assert response.status_code == 409
    assert "someone else" in response.json()["errors"][0]["message"]
    row = Sub.objects.get()
    assert row.user == cast["patient_alex"]
    assert (row.p256dh, row.auth) == (device.p256dh, device.auth)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        (b"\xff\xfe", "body"),
        ("[]", "body"),
        ({"keys": {}}, "endpoint"),
        ({"endpoint": "", "keys": {}}, "endpoint"),
        ({"endpoint": 7}, "endpoint"),
    ],
)
def test_a_body_that_is_not_a_subscription_is_400_and_stores_nothing(
    cast: Any, client_for: Any, body: Any, field: str
) -> None:
    response = post_json(client_for("patient_alex"), SUBSCRIBE, body)
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Sub.objects.exists()


def _broken(service: FakePushService, change: str) -> dict[str, Any]:
    body = service.new_device().subscription()
    keys = body["keys"]
    match change:
        case "p256dh not a point":
            keys["p256dh"] = keys["p256dh"][:-4] + "AAAA"
        case "p256dh short":
            keys["p256dh"] = keys["p256dh"][:20]
        case "auth wrong length":
            keys["auth"] = keys["auth"] + "AAAA"
        case "auth not base64url":
            keys["auth"] = "!!!!!!!!!!!!!!!!!!!!!!"
        case "keys missing":
            del body["keys"]
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("p256dh not a point", "keys.p256dh"),
        ("p256dh short", "keys.p256dh"),
        ("auth wrong length", "keys.auth"),
        ("auth not base64url", "keys.auth"),
        ("keys missing", "keys.p256dh"),
    ],
)
def test_keys_that_are_not_web_push_keys_are_400(
    cast: Any, client_for: Any, service: FakePushService, change: str, field: str
) -> None:
    response = post_json(client_for("patient_alex"), SUBSCRIBE, _broken(service, change))
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Sub.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.org/send/abc",  # not https
        "https://push.example.org/send/abc",  # not a browser's push service
        "https://user:secret@fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com.evil.example/fcm/send/abc",
        "ftp://fcm.googleapis.com/abc",
        "https://fcm.googleapis.com:notaport/abc",
        "https://fcm.googleapis.com/" + "a" * 800,
        "not a url",
    ],
)
def test_an_endpoint_trellis_would_not_post_to_is_400(
    cast: Any, client_for: Any, service: FakePushService, endpoint: str
) -> None:
    body = {**service.new_device().subscription(), "endpoint": endpoint}
    response = post_json(client_for("patient_alex"), SUBSCRIBE, body)
    assert response.status_code == 400, endpoint
    assert [e["field"] for e in response.json()["errors"]] == ["endpoint"]
    assert not Sub.objects.exists()


def test_the_browsers_push_services_are_accepted(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    client = client_for("patient_alex")
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
    ):
        body = {**service.new_device().subscription(), "endpoint": endpoint}
        assert post_json(client, SUBSCRIBE, body).status_code == 201, endpoint


def test_production_refuses_a_local_endpoint_and_the_hosts_are_configurable(
    cast: Any, client_for: Any, service: FakePushService, settings: Any
) -> None:
    settings.PRODUCTION = True
    client = client_for("patient_alex")
    assert post_json(client, SUBSCRIBE, service.new_device().subscription()).status_code == 400
    settings.TRELLIS_PUSH_SERVICE_HOSTS = ["push.clinic.example"]
    body = {**service.new_device().subscription(), "endpoint": "https://a.push.clinic.example/1"}
    assert post_json(client, SUBSCRIBE, body).status_code == 201
    body["endpoint"] = "https://fcm.googleapis.com/fcm/send/abc"
    assert post_json(client, SUBSCRIBE, body).status_code == 400


def test_a_form_post_or_an_oversized_body_is_400(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    client = client_for("patient_alex")
    form = client.post(SUBSCRIBE, {"endpoint": service.new_device().endpoint})
    assert form.status_code == 400
    big = {**service.new_device().subscription(), "padding": "x" * 5000}
    assert post_json(client, SUBSCRIBE, big).status_code == 400
    assert not Sub.objects.exists()


def test_only_a_signed_in_patient_may_subscribe(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    body = service.new_device().subscription()
    assert post_json(Client(), SUBSCRIBE, body).status_code == 401
    assert post_json(client_for("therapist_maria"), SUBSCRIBE, body).status_code == 403
    assert Client().get(SUBSCRIBE).status_code == 405
    assert not Sub.objects.exists()


def test_subscribing_needs_the_pages_csrf_token(cast: Any, service: FakePushService) -> None:
    client = sign_in(Client(enforce_csrf_checks=True), cast["patient_alex"])
    body = service.new_device().subscription()
    assert post_json(client, SUBSCRIBE, body).status_code == 403
    assert not Sub.objects.exists()
    page = client.get(reverse("onboarding:my_preferences"))
    token = page.context["csrf_token"]
    assert post_json(client, SUBSCRIBE, body, HTTP_X_CSRFTOKEN=str(token)).status_code == 201


def test_subscribing_again_lifts_the_block_of_a_push_address_that_stopped_working(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    alex = cast["patient_alex"]
    services.block(alex, channel=Channel.PUSH, reason=BlockReason.PERMANENT_FAILURE)
    stop = services.block(alex, reason=BlockReason.STOP)
    post_json(client_for("patient_alex"), SUBSCRIBE, service.new_device().subscription())
    assert not ContactBlock.objects.filter(user=alex, channel="push", lifted_at=None).exists()
    stop.refresh_from_db()
    assert stop.lifted_at is None, "a STOP is lifted only by START"


def test_a_patient_unsubscribes_their_device(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    device = service.new_device()
    client = client_for("patient_alex")
    post_json(client, SUBSCRIBE, device.subscription())
    response = post_json(client, UNSUBSCRIBE, {"endpoint": device.endpoint})
    assert response.status_code == 200 and response.json() == {"removed": True}
    assert not Sub.objects.exists()
    assert AuditEvent.objects.filter(action="push.unsubscribe").count() == 1
    assert post_json(client, UNSUBSCRIBE, {"endpoint": device.endpoint}).status_code == 404


def test_nobody_unsubscribes_another_persons_device(
    cast: Any, client_for: Any, service: FakePushService
) -> None:
    device = service.new_device()
    post_json(client_for("patient_alex"), SUBSCRIBE, device.subscription())
    response = post_json(client_for("patient_farah"), UNSUBSCRIBE, {"endpoint": device.endpoint})
    assert response.status_code == 404
    assert Sub.objects.get().user == cast["patient_alex"]
    assert post_json(Client(), UNSUBSCRIBE, {"endpoint": device.endpoint}).status_code == 401


@pytest.mark.parametrize("body", ["{", "[]", {"endpoint": ""}, {"endpoint": 3}, {}])
def test_an_unsubscribe_without_an_endpoint_is_400(cast: Any, client_for: Any, body: Any) -> None:
    assert post_json(client_for("patient_alex"), UNSUBSCRIBE, body).status_code == 400


def test_with_the_last_device_gone_waiting_pushes_are_not_sent(
    cast: Any, client_for: Any, service: FakePushService, keys: Any
) -> None:
    device = alex_with_a_device(cast, service, keys)
    waiting = queue_push(cast)
    assert waiting.status == DeliveryStatus.QUEUED
    post_json(client_for("patient_alex"), UNSUBSCRIBE, {"endpoint": device.endpoint})
    waiting.refresh_from_db()
    assert (waiting.status, waiting.reason) == (DeliveryStatus.SUPPRESSED, "no_address")


def test_with_another_device_left_waiting_pushes_stay_queued(
    cast: Any, client_for: Any, service: FakePushService, keys: Any
) -> None:
    device = alex_with_a_device(cast, service, keys)
    second = service.new_device()
    client = client_for("patient_alex")
    post_json(client, SUBSCRIBE, second.subscription())
    waiting = queue_push(cast)
    post_json(client, UNSUBSCRIBE, {"endpoint": device.endpoint})
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.QUEUED


def test_push_is_a_channel_only_with_a_device(
    cast: Any, service: FakePushService, keys: Any
) -> None:
    alex_enrolled(cast)
    choose_push(cast["patient_alex"])
    row = queue_push(cast, key="before-any-device")
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "no_address")
