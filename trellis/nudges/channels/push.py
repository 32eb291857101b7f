"""Web push: a notification on each device the person set up (RFC 8030, RFC 8291 aes128gcm
encryption, RFC 8292 VAPID), sent with pywebpush.

What reaches the lock screen is deliberately the same for every nudge: the title
"Trellis" and a line saying something new is waiting, in the person's language. The
message's own words are never put in a push (a lock screen is read by whoever holds the
phone); tapping the notification opens a signed link that records the nudge as opened and
then goes where the nudge leads, behind the sign-in.

The person may have several devices: the delivery is sent to each. What the push service
answers for each device:
  201 (or 200/202)       accepted: the delivery is sent
  404 or 410             the subscription is gone: it is removed
  429, 5xx, no answer    try again later (the service's Retry-After is kept)
  any other 4xx          refused (a key that does not match, a malformed request)
One device accepting is enough for "sent". With none accepted, any "try again later"
makes the delivery temporary; otherwise it is permanent (the address does not work: the
dispatcher blocks push for the person and tells their supporters).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Literal

import requests
from django.utils import translation
from django.utils.translation import gettext as _
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from trellis.core import timeutil, vapid
from trellis.nudges import messages
from trellis.nudges import webpush as devices
from trellis.nudges.channels.base import Message, Outcome
from trellis.nudges.models import PushSubscription

if TYPE_CHECKING:
    from trellis.nudges.models import Delivery

log = logging.getLogger(__name__)

TITLE = "Trellis"
# How long a push service keeps a message for a device that is offline, unless the
# delivery expires sooner (RFC 8030 TTL, seconds).
DEFAULT_TTL = 24 * 60 * 60
MAX_TTL = 28 * 24 * 60 * 60
TIMEOUT_SECONDS = 10.0

Result = Literal["sent", "gone", "temporary", "refused"]


@dataclass(frozen=True)
class DeviceResult:
    result: Result
    status: int | None = None
    location: str = ""
    retry_after: float | None = None


def payload(delivery: Delivery, language: str) -> str:
    """The notification's JSON: {title, body, url}. No health details, ever."""
    with translation.override(language):
        body = _("You have something new in Trellis.")
    return json.dumps(
        {"title": TITLE, "body": body, "url": devices.opened_path(delivery.pk)},
        ensure_ascii=False,
    )


def ttl_for(delivery: Delivery, now: datetime) -> int:
    if delivery.expires_at is None:
        return DEFAULT_TTL
    return max(0, min(MAX_TTL, int((delivery.expires_at - now).total_seconds())))


def topic_for(delivery: Delivery) -> str:
    """RFC 8030 Topic: a second attempt of the same delivery replaces the first one
    still waiting at the push service, so the device shows it once."""
    return vapid.b64url(hashlib.sha256(delivery.key.encode()).digest())[:32]


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())


_local = threading.local()


def _session() -> requests.Session:
    """One connection pool per worker thread, reused across deliveries."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        _local.session = session
    return session


class PushSender:
    channel = "push"

    def send(self, delivery: Delivery, message: Message) -> Outcome:
        now = timeutil.now()
        try:
            keys = devices.vapid_keys()
        except devices.PushNotConfigured as error:
            log.error("web push is not configured: %s", error)
            return Outcome("temporary", reason="push_not_configured")
        subscriptions = list(PushSubscription.objects.filter(user_id=delivery.recipient_id))
        if not subscriptions:
            return Outcome("permanent", reason="no_push_subscription")
        # `message` is not used: see the module's docstring.
        data = payload(delivery, messages.language_of(delivery))
        signer = Vapid.from_string(keys.private)
        results = [
            self._one(subscription, data, signer, keys.subject, delivery, now)
            for subscription in subscriptions
        ]
        # Forgotten only once every device has been tried: the audit row it writes holds
        # the audit chain until this delivery's transaction ends.
        for subscription, result in zip(subscriptions, results, strict=True):
            if result.result == "gone" and result.status is not None:
                devices.expire(subscription, status=result.status, at=now)
        return _outcome(results)

    def _one(
        self,
        subscription: PushSubscription,
        data: str,
        signer: Vapid,
        subject: str,
        delivery: Delivery,
        now: datetime,
    ) -> DeviceResult:
        try:
            response = webpush(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=data,
                vapid_private_key=signer,
                vapid_claims={"sub": subject},
                ttl=ttl_for(delivery, now),
                headers={"Urgency": "normal", "Topic": topic_for(delivery)},
                timeout=TIMEOUT_SECONDS,
                requests_session=_session(),
            )
        except WebPushException as error:
            return self._refusal(error, now)
        except requests.RequestException as error:
            log.warning("push service unreachable (%s)", type(error).__name__)
            return DeviceResult("temporary")
        assert isinstance(response, requests.Response)
        devices.record_success(subscription, at=now)
        return DeviceResult(
            "sent", status=response.status_code, location=response.headers.get("Location", "")
        )

    def _refusal(self, error: WebPushException, now: datetime) -> DeviceResult:
        status = error.status_code
        if status in (404, 410):
            return DeviceResult("gone", status=status)
        if status is None or status == 429 or status >= 500:
            return DeviceResult(
                "temporary",
                status=status,
                retry_after=retry_after_seconds(error.retry_after, now),
            )
        log.warning("push service refused a message with %s", status)
        return DeviceResult("refused", status=status)


def _outcome(results: list[DeviceResult]) -> Outcome:
    sent = [r for r in results if r.result == "sent"]
    if sent:
        return Outcome("sent", provider_id=sent[0].location[:120])
    waiting = [r for r in results if r.result == "temporary"]
    if waiting:
        delays = [r.retry_after for r in waiting if r.retry_after is not None]
        status = next((r.status for r in waiting if r.status is not None), None)
        return Outcome(
            "temporary",
            reason=f"push service answered {status}" if status else "push service unreachable",
            retry_after=max(delays) if delays else None,
        )
    if all(r.result == "gone" for r in results):
        return Outcome("permanent", reason="push_subscription_gone")
    refused = next(r.status for r in results if r.result == "refused")
    return Outcome("permanent", reason=f"push service refused ({refused})")


sender = PushSender()
