"""A person's devices for web push: the subscription service.

A patient's browser subscribes with Trellis's public key (`webpush.vapid_keys().public`)
and hands Trellis its subscription: the push service's endpoint and the two keys the
payload is encrypted to. `subscribe` stores it for that person; an endpoint that another
person already holds is refused (a browser profile is one person's), and the push
channel's block ("the address does not work", "unsubscribed") is lifted, since the person
has just given a working address and asked for it. `unsubscribe` forgets a device; with
the last one gone, push nudges still waiting for the person are not sent.

Trellis posts only to the browsers' own push services (TRELLIS_PUSH_SERVICE_HOSTS), never
to an address a person made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import User
from trellis.core import vapid
from trellis.core.errors import Conflict
from trellis.nudges import services
from trellis.nudges.models import Channel, ContactBlock, Delivery, DeliveryStatus, PushSubscription

# The browsers' own push services (Chrome and Edge, Firefox, Safari, legacy Edge): a
# subscription must point at one of these hosts or a subdomain, so Trellis never posts to
# an address a person typed in (TRELLIS_PUSH_SERVICE_HOSTS replaces the list).
DEFAULT_PUSH_SERVICE_HOSTS = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "push.services.mozilla.com",
    "web.push.apple.com",
    "notify.windows.com",
)
# Outside production the local fake push service of the tests and the demo answers here.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_ENDPOINT = 800
MAX_BODY_BYTES = 4096


# Subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionInput:
    """A browser's PushSubscription as its toJSON() gives it, checked."""

    endpoint: str
    p256dh: str
    auth: str


def parse_subscription(data: Any) -> SubscriptionInput:
    """Check a subscription as the page sends it; ValidationError naming the field."""
    if not isinstance(data, dict):
        raise ValidationError(_("Send the subscription as a JSON object."))
    endpoint = data.get("endpoint")
    keys = data.get("keys")
    errors: dict[str, str] = {}
    if not isinstance(endpoint, str) or not endpoint.strip():
        errors["endpoint"] = _("The subscription has no endpoint.")
    else:
        endpoint = endpoint.strip()
        problem = endpoint_problem(endpoint)
        if problem:
            errors["endpoint"] = problem
    p256dh = keys.get("p256dh") if isinstance(keys, dict) else None
    auth = keys.get("auth") if isinstance(keys, dict) else None
    if not isinstance(p256dh, str) or not _is_p256_point(p256dh):
        errors["keys.p256dh"] = _("The subscription's p256dh key is not a P-256 public key.")
    if not isinstance(auth, str) or not _is_auth_secret(auth):
        errors["keys.auth"] = _("The subscription's auth secret is not 16 bytes of base64url.")
    if errors:
        raise ValidationError(errors)
    assert isinstance(endpoint, str) and isinstance(p256dh, str) and isinstance(auth, str)
    return SubscriptionInput(endpoint=endpoint, p256dh=p256dh.strip(), auth=auth.strip())


def endpoint_problem(endpoint: str) -> str:
    """Why Trellis will not post to this endpoint, or "" when it may."""
    if len(endpoint) > MAX_ENDPOINT:
        return _("The endpoint is longer than %(max)d characters.") % {"max": MAX_ENDPOINT}
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return _("The endpoint is not a web address.")
    if parts.username or parts.password or not host:
        return _("The endpoint is not a web address.")
    if parts.scheme == "http" and host in LOCAL_HOSTS and not settings.PRODUCTION:
        return ""
    if parts.scheme != "https":
        return _("The endpoint must be an https address of a push service.")
    allowed = getattr(settings, "TRELLIS_PUSH_SERVICE_HOSTS", None) or DEFAULT_PUSH_SERVICE_HOSTS
    if any(host == known or host.endswith("." + known) for known in allowed):
        return ""
    return _("The endpoint is not a push service Trellis sends to.")


def _is_p256_point(text: str) -> bool:
    try:
        vapid.public_key(text)
    except vapid.VapidKeyError:
        return False
    return True


def _is_auth_secret(text: str) -> bool:
    try:
        return len(vapid.b64url_decode(text)) == 16
    except ValueError:
        return False


@transaction.atomic
def subscribe(
    user: User, subscription: SubscriptionInput, *, user_agent: str = "", at: datetime
) -> tuple[PushSubscription, bool]:
    """Keep this device's subscription for `user`: (the row, whether it is new).

    The same endpoint again (a browser renewing its keys) updates the row. An endpoint
    another person holds is refused with a Conflict and nothing changes: one browser
    profile is one person's, and a nudge must never reach someone else's lock screen.
    """
    existing = (
        PushSubscription.objects.select_for_update().filter(endpoint=subscription.endpoint).first()
    )
    if existing is not None and existing.user_id != user.pk:
        raise Conflict(_("This device is already set up for someone else's reminders."))
    if existing is not None:
        row, created = existing, False
        if (existing.p256dh, existing.auth) == (subscription.p256dh, subscription.auth):
            # The page hands over a device Trellis already has, as it does on each visit.
            _lift_push_blocks(user, at=at)
            return row, created
        existing.p256dh = subscription.p256dh
        existing.auth = subscription.auth
        existing.user_agent = user_agent[:200]
        existing.save(update_fields=["p256dh", "auth", "user_agent", "updated_at"])
    else:
        try:
            with transaction.atomic():
                row = PushSubscription.objects.create(
                    user=user,
                    endpoint=subscription.endpoint,
                    p256dh=subscription.p256dh,
                    auth=subscription.auth,
                    user_agent=user_agent[:200],
                )
        except IntegrityError:
            # The same endpoint was saved a moment ago: by this person (a second tap), or
            # by someone else.
            row = PushSubscription.objects.get(endpoint=subscription.endpoint)
            if row.user_id != user.pk:
                raise Conflict(
                    _("This device is already set up for someone else's reminders.")
                ) from None
            return row, False
        created = True
    _lift_push_blocks(user, at=at)
    audit.record(
        action="push.subscribe",
        actor=user,
        subject=row,
        details={"new": created},
        at=at,
    )
    return row, created


def _lift_push_blocks(user: User, *, at: datetime) -> None:
    if ContactBlock.objects.filter(user=user, channel=Channel.PUSH, lifted_at=None).exists():
        services.lift(user, channel=Channel.PUSH, by=user, at=at)


@transaction.atomic
def unsubscribe(user: User, endpoint: str, *, at: datetime) -> bool:
    """Forget this device for `user`; False (nothing changed) if it is not theirs."""
    row = PushSubscription.objects.filter(user=user, endpoint=endpoint).first()
    if row is None:
        return False
    audit.record(action="push.unsubscribe", actor=user, subject=row, at=at)
    row.delete()
    if not PushSubscription.objects.filter(user=user).exists():
        # No device left: what waits to be pushed is not sent (a worker sending one right
        # now holds its row; that one goes, or fails as "no device").
        waiting = Delivery.objects.select_for_update(skip_locked=True).filter(
            recipient=user, channel=Channel.PUSH, status=DeliveryStatus.QUEUED
        )
        for delivery in waiting:
            services.suppress(delivery, "no_address", at=at)
    return True
