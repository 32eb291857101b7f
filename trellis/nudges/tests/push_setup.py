"""Building blocks for the web-push tests: a VAPID key pair in settings, patient_alex with
push chosen and a device at the fake push service, and a push nudge queued for him."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from trellis.accounts.models import User
from trellis.care.models import Enrollment, Preferences
from trellis.core import timeutil, vapid
from trellis.journey.tests.factories import enroll_alex
from trellis.nudges import push, webpush
from trellis.nudges.models import Delivery
from trellis.nudges.tests.fake_push_service import Device, FakePushService
from trellis.nudges.tests.pipeline_helpers import queue_one

# Tuesday 3 March 2026, 10:00 in New York: inside every allowed hour.
AT = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


def use_new_keys(settings: Any) -> webpush.VapidKeys:
    """A fresh VAPID pair in settings (as `trellis keys vapid` prints one)."""
    private, public = vapid.generate_pair()
    settings.TRELLIS_VAPID_PRIVATE_KEY = private
    settings.TRELLIS_VAPID_PUBLIC_KEY = public
    settings.TRELLIS_VAPID_SUBJECT = "mailto:care@riverside.example"
    return webpush.vapid_keys()


def choose_push(user: User, *, zone: str = "America/New_York") -> Preferences:
    prefs, _created = Preferences.objects.update_or_create(
        user=user, defaults={"reminder_channels": ["push"], "time_zone": zone}
    )
    return prefs


def alex_enrolled(cast: Any) -> Enrollment:
    return enroll_alex(cast, now=AT - timedelta(days=3))


def subscribe_device(user: User, device: Device) -> None:
    push.subscribe(user, push.parse_subscription(device.subscription()), at=timeutil.now())


def alex_with_a_device(cast: Any, service: FakePushService, keys: webpush.VapidKeys) -> Device:
    """patient_alex enrolled, push chosen, one device subscribed with Trellis's key."""
    alex_enrolled(cast)
    choose_push(cast["patient_alex"])
    device = service.new_device(application_server_key=keys.public)
    subscribe_device(cast["patient_alex"], device)
    return device


def queue_push(
    cast: Any,
    *,
    key: str = "push-test",
    template: str = "exercise_today",
    at: datetime = AT,
    expires_at: datetime | None = None,
) -> Delivery:
    return queue_one(
        cast,
        alex_enrolled(cast),
        key=key,
        not_before=at,
        channel="push",
        template=template,
        expires_at=expires_at,
    )
