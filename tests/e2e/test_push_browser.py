"""A patient turns on reminders on this device in a real Chromium, and a due reminder
reaches the device's push service, signed with Trellis's VAPID key and encrypted to it.

The one edge this test cannot cross: headless Chromium on a machine without internet has
no push service of its own (Chrome's is Google's), so `PushManager.subscribe` cannot make
a real subscription. The browser context is granted the notifications permission, and
the page's `PushManager.subscribe` is replaced, before the page loads, by one that
answers a subscription whose endpoint is the local fake push service
(trellis/nudges/tests/fake_push_service.py) with real keys made for that device: a P-256
key pair and an auth secret, whose private half stays with the fake, as it stays in a
browser. It records the applicationServerKey the page asked with, and the fake then
accepts only messages signed with that key. Everything else is real: the service worker
registered by the page, the page's script, the CSRF-protected JSON post, the database,
the push channel's HTTP request, the VAPID JWT the fake verifies and the aes128gcm body
it decrypts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from axe import describe, serious_violations
from playwright.sync_api import expect

from trellis.audit.models import AuditEvent
from trellis.demo import personas
from trellis.nudges import dispatch
from trellis.nudges.models import Delivery, DeliveryStatus, PushSubscription
from trellis.nudges.tests.fake_push_service import Device, FakePushService, fake_push_service
from trellis.nudges.tests.push_setup import AT, alex_enrolled, choose_push, queue_push, use_new_keys

pytestmark = pytest.mark.browser

# Replaces PushManager.subscribe/getSubscription with a subscription at the fake service.
# Like a browser's, the subscription outlives the page (kept in sessionStorage).
STUB = """
(() => {
  const made = %s;
  const toB64url = (bytes) => btoa(String.fromCharCode(...bytes))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const fromB64url = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) %% 4)),
    (c) => c.charCodeAt(0));
  const build = (key) => ({
    endpoint: made.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: fromB64url(key).buffer },
    getKey: (name) => fromB64url(made.keys[name]).buffer,
    toJSON: () => made,
    unsubscribe: () => {
      sessionStorage.removeItem("stub-push-key");
      return Promise.resolve(true);
    },
  });
  PushManager.prototype.subscribe = function (options) {
    const raw = options.applicationServerKey;
    const key = toB64url(new Uint8Array(raw.buffer || raw));
    sessionStorage.setItem("stub-push-key", key);
    sessionStorage.setItem("stub-push-subscribed", String(
      Number(sessionStorage.getItem("stub-push-subscribed") || "0") + 1));
    window.__userVisibleOnly = options.userVisibleOnly;
    return Promise.resolve(build(key));
  };
  PushManager.prototype.getSubscription = function () {
    const key = sessionStorage.getItem("stub-push-key");
    return Promise.resolve(key ? build(key) : null);
  };
})();
"""


@pytest.fixture
def service() -> Iterator[FakePushService]:
    with fake_push_service() as running:
        yield running


def sign_in_patient(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(personas.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def show_in_service_worker(page: Any, origin: str, data: str) -> list[list[str]]:
    """Deliver `data` to the page's service worker as a push message; the notifications it
    then shows, as [title, body, url].

    The message goes only to a registration whose worker Chromium reports as activated: a
    push handed to a worker still installing (its shell cache filling, slow on a busy
    machine) is dropped without a word."""
    cdp = page.context.new_cdp_session(page)
    registrations: list[str] = []
    activated: set[str] = set()
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(
            r["registrationId"] for r in event["registrations"] if not r.get("isDeleted")
        ),
    )
    cdp.on(
        "ServiceWorker.workerVersionUpdated",
        lambda event: activated.update(
            v["registrationId"] for v in event["versions"] if v.get("status") == "activated"
        ),
    )
    cdp.send("ServiceWorker.enable")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    ready = [r for r in registrations if r in activated]
    for _ in range(150):
        ready = [r for r in registrations if r in activated]
        if ready:
            break
        page.wait_for_timeout(100)
    assert ready, "the page's service worker never became active"
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin + "/", "registrationId": ready[-1], "data": data},
    )
    shown: list[list[str]] = []
    for _ in range(150):
        shown = page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(list => list.map(n => [n.title, n.body, n.data.url]))"
        )
        if shown:
            break
        page.wait_for_timeout(100)
    return shown


def test_a_patient_turns_on_reminders_on_this_device_and_a_due_reminder_arrives(
    page: Any,
    cast: personas.Cast,
    live_server: Any,
    service: FakePushService,
    settings: Any,
) -> None:
    keys = use_new_keys(settings)
    alex = cast["patient_alex"]
    alex_enrolled(cast)
    choose_push(alex)
    device: Device = service.new_device()
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.context.add_init_script(STUB % json.dumps(device.subscription()))

    sign_in_patient(page, alex.email)
    page.goto("/notifications/")
    turn_on = page.get_by_role("button", name="Get reminders on this device")
    expect(turn_on).to_be_visible()
    turn_on.click()
    expect(
        page.get_by_role("status").filter(has_text="This device gets your reminders.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Stop reminders on this device")).to_be_visible()
    violations = serious_violations(page)
    assert not violations, describe(violations)

    # The page subscribed with Trellis's public key, through the registered service worker.
    assert page.evaluate("sessionStorage.getItem('stub-push-key')") == keys.public
    assert page.evaluate("window.__userVisibleOnly") is True
    stored = PushSubscription.objects.get()
    assert stored.user == alex
    assert (stored.endpoint, stored.p256dh, stored.auth) == (
        device.endpoint,
        device.p256dh,
        device.auth,
    )
    device.application_server_key = page.evaluate("sessionStorage.getItem('stub-push-key')")

    # A due reminder, queued and delivered as the worker does.
    row = queue_push(cast, template="exercise_today")
    sent = dispatch.deliver(row.pk, now=AT)
    assert sent.status == DeliveryStatus.SENT, sent.reason
    [message] = service.messages_for(device)
    assert message.vapid_key == keys.public
    assert message.claims["aud"] == service.origin
    shown = message.json()
    assert (shown["title"], shown["body"]) == ("Trellis", "You have something new in Trellis.")

    # The service worker shows what the device decrypted (handed to it as Chromium's push
    # service would, through the DevTools protocol): the lock screen's two lines, no more.
    shown_by_worker = show_in_service_worker(page, live_server.url, message.plaintext.decode())
    assert shown_by_worker == [["Trellis", "You have something new in Trellis.", shown["url"]]]

    # Tapping it opens its link on Trellis: recorded as opened, then on to the page.
    page.goto(shown["url"])
    expect(page).not_to_have_url(re.compile(r"/nudges/push/open/"))
    assert Delivery.objects.get(pk=sent.pk).opened_at is not None
    assert not page.problems, page.problems


def test_the_box_stays_hidden_where_the_browser_has_no_push(
    page: Any, cast: personas.Cast, live_server: Any, settings: Any
) -> None:
    use_new_keys(settings)
    page.context.add_init_script("delete window.PushManager;")
    sign_in_patient(page, cast["patient_alex"].email)
    page.goto("/notifications/")
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.get_by_role("button", name="Get reminders on this device")).to_be_hidden()
    assert not page.problems, page.problems


def test_a_subscribed_device_is_kept_on_each_visit_and_renewed_after_a_key_change(
    page: Any,
    cast: personas.Cast,
    live_server: Any,
    service: FakePushService,
    settings: Any,
) -> None:
    use_new_keys(settings)
    alex = cast["patient_alex"]
    device = service.new_device()
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.context.add_init_script(STUB % json.dumps(device.subscription()))
    sign_in_patient(page, alex.email)
    page.goto("/notifications/")
    page.get_by_role("button", name="Get reminders on this device").click()
    on = page.get_by_role("status").filter(has_text="This device gets your reminders.")
    expect(on).to_be_visible()

    # Back on the page later: the device is still on, nothing new is written.
    page.reload()
    expect(on).to_be_visible()
    assert PushSubscription.objects.count() == 1
    assert AuditEvent.objects.filter(action="push.subscribe").count() == 1

    # The clinic changed its key: the page drops the old subscription and makes a new
    # one with the new key, without asking.
    renewed = use_new_keys(settings)
    page.reload()
    expect(on).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('stub-push-key')") == renewed.public
    assert page.evaluate("sessionStorage.getItem('stub-push-subscribed')") == "2"

    # Stopping: the device is forgotten.
    page.get_by_role("button", name="Stop reminders on this device").click()
    expect(page.get_by_role("status").filter(has_text="does not get reminders")).to_be_visible()
    assert not PushSubscription.objects.exists()
    assert not page.problems, page.problems
