"""Text messages (SMS) through a provider's REST API, shaped on Twilio's 2010-04-01 Messages
resource, which several providers also speak.

The provider is configuration (`TRELLIS_SMS` in settings, from `TRELLIS_SMS_*` variables):
its base URL, the account, the auth token and the clinic's sending number. Without all four,
texts are not available, and `unavailable_reason` says so.

A send is one form-encoded POST to `{BASE_URL}/2010-04-01/Accounts/{ACCOUNT}/Messages.json`
with `To`, `From`, `Body` and `StatusCallback` (Trellis's delivery-status URL), authenticated
with basic auth. The answer becomes an Outcome:

- 201 with a message sid: sent (the sid is the delivery's provider id; the provider later
  calls back with delivered or failed);
- 429, a 5xx, a timeout or an unreachable provider: temporary, with the provider's
  Retry-After when it gives one;
- an invalid, unreachable or non-mobile number (21211, 21212, 21214, 21217, 21612, 21614)
  or an unsubscribed recipient (21610): permanent, so the person's texts stop and their
  supporter is told;
- anything else (the account's credentials refused, a request the provider will not take):
  temporary, since it is the clinic's configuration and not the person's number.

Only `Message.short` goes out: never health details.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.urls import reverse

from trellis.accounts.models import User
from trellis.nudges import phones
from trellis.nudges.channels import outbox
from trellis.nudges.channels.base import Message, Outcome
from trellis.nudges.models import Delivery

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
# The provider's codes that mean this number cannot get texts from this sender.
INVALID_NUMBER_CODES = frozenset({21211, 21212, 21214, 21217, 21612, 21614})
UNSUBSCRIBED_CODES = frozenset({21610})
# Delivery-status error codes (in a callback) that mean the number itself does not work.
PERMANENT_DELIVERY_CODES = frozenset({"21610", "21211", "21614", "30005", "30006"})
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True)
class SmsSettings:
    """Where and as whom Trellis sends texts."""

    base_url: str
    account: str
    token: str
    sender: str
    timeout: float

    @property
    def messages_url(self) -> str:
        account = urllib.parse.quote(self.account, safe="")
        return f"{self.base_url.rstrip('/')}/{API_VERSION}/Accounts/{account}/Messages.json"


def sms_settings() -> SmsSettings | None:
    """The provider's settings, or None when texts are not set up."""
    config: dict[str, Any] = getattr(settings, "TRELLIS_SMS", None) or {}
    values = {name: str(config.get(name) or "").strip() for name in ("BASE_URL", "ACCOUNT")}
    values |= {name: str(config.get(name) or "").strip() for name in ("TOKEN", "FROM")}
    if not all(values.values()):
        return None
    if urllib.parse.urlparse(values["BASE_URL"]).scheme not in {"http", "https"}:
        return None
    return SmsSettings(
        base_url=values["BASE_URL"],
        account=values["ACCOUNT"],
        token=values["TOKEN"],
        sender=values["FROM"],
        timeout=float(config.get("TIMEOUT") or 10),
    )


def configured() -> bool:
    """Texts can go out: to the provider, or (outside production) to the outbox folder."""
    return sms_settings() is not None or outbox.configured()


def unavailable_reason(user: User) -> str:
    """Why texts cannot reach this person ("" when they can): not set up, or no number."""
    if not configured():
        return "sms_not_configured"
    if not phones.normalize(user.phone or ""):
        return "no_phone"
    return ""


def status_callback_url() -> str:
    """The absolute URL the provider posts delivery statuses to."""
    return settings.TRELLIS_BASE_URL.rstrip("/") + reverse("nudges_sms:status")


def inbound_url() -> str:
    """The absolute URL the provider posts inbound texts to (set on the sending number)."""
    return settings.TRELLIS_BASE_URL.rstrip("/") + reverse("nudges_sms:inbound")


def body_of(message: Message) -> str:
    """The text that goes out: the short form, with the nudge's link unless the short
    form already carries a link of its own (a session reminder's answer page)."""
    text = message.short.strip()
    if message.link and "://" not in text:
        text = f"{text} {message.link}".strip()
    return text


def _retry_after(headers: Any) -> float | None:
    raw = (headers.get("Retry-After") or "").strip() if headers is not None else ""
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _error_code(raw: bytes) -> int | None:
    try:
        body = json.loads(raw.decode() or "{}")
        code = body.get("code") if isinstance(body, dict) else None
        return int(code) if code else None
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def outcome_for(status: int, raw: bytes, headers: Any) -> Outcome:
    """The provider's answer to a send, as an Outcome (see the module's docstring)."""
    if status in (200, 201):
        try:
            body = json.loads(raw.decode())
            sid = str(body.get("sid") or "")
        except (ValueError, AttributeError, UnicodeDecodeError):
            sid = ""
        if not sid:
            return Outcome(status="temporary", reason="provider_answer_unreadable")
        return Outcome(status="sent", provider_id=sid)
    code = _error_code(raw)
    if status == 429:
        return Outcome(status="temporary", reason="rate_limited", retry_after=_retry_after(headers))
    if status >= 500:
        return Outcome(
            status="temporary", reason=f"provider_error_{status}", retry_after=_retry_after(headers)
        )
    if code in INVALID_NUMBER_CODES:
        return Outcome(status="permanent", reason="invalid_number")
    if code in UNSUBSCRIBED_CODES:
        return Outcome(status="permanent", reason="unsubscribed")
    return Outcome(status="temporary", reason=f"provider_refused_{code or status}")


def post_message(config: SmsSettings, *, to: str, body: str) -> Outcome:
    """One POST to the provider's Messages resource, answered as an Outcome."""
    form = {"To": to, "From": config.sender, "Body": body, "StatusCallback": status_callback_url()}
    credentials = base64.b64encode(f"{config.account}:{config.token}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked in sms_settings)
        config.messages_url,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as answer:  # noqa: S310
            return outcome_for(answer.status, answer.read(), answer.headers)
    except urllib.error.HTTPError as error:
        return outcome_for(error.code, error.read(), error.headers)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        logger.warning("SMS provider unreachable: %s", type(error).__name__)
        return Outcome(status="temporary", reason="provider_unreachable")


class SmsSender:
    """The text-message channel."""

    channel = "sms"

    def send(self, delivery: Delivery, message: Message) -> Outcome:
        config = sms_settings()
        if config is None and not outbox.configured():
            return Outcome(status="temporary", reason="sms_not_configured")
        recipient = delivery.recipient
        number = phones.normalize(recipient.phone or "")
        # The number is saved in a lower layer; keep the index an answer finds it by current.
        phones.refresh_phone_index([recipient])
        if not number:
            return Outcome(status="permanent", reason="no_phone")
        body = body_of(message)
        if not body:
            return Outcome(status="permanent", reason="empty_message")
        if outbox.configured() or config is None:
            # Written to a folder instead of sent (the demo): channels/outbox.py.
            return outbox.write_text(delivery, to=number, body=body)
        return post_message(config, to=number, body=body)


def delivery_status(message_status: str, error_code: str) -> tuple[str, str] | None:
    """A status callback's MessageStatus (and ErrorCode) as (status, reason) for
    `services.record_provider_status` (delivered; permanent: the number does not work;
    temporary: try again), or None for a status that changes nothing
    (queued, accepted, sending, sent: the send already said so)."""
    status = message_status.strip().lower()
    if status in {"delivered", "read"}:
        return "delivered", ""
    if status in {"undelivered", "failed"}:
        code = error_code.strip()
        if code in PERMANENT_DELIVERY_CODES:
            return "permanent", f"undelivered_{code}"
        # Unreachable handset, carrier trouble, unknown: try again, as for a 5xx.
        return "temporary", f"undelivered_{code or 'unknown'}"
    return None


sender = SmsSender()
