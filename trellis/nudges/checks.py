"""The deployment check for web push, run by `trellis check`.

Push is optional: without TRELLIS_VAPID_PRIVATE_KEY it is simply off, and nothing is
reported. A key that is set but cannot be used (not a P-256 key, or a public key that is
not its half) is an error: the clinic meant to send push and would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from trellis.core.checks import TRELLIS
from trellis.nudges import webpush

VAPID_FIX = (
    "print a new pair with `trellis keys vapid` and set TRELLIS_VAPID_PRIVATE_KEY (and "
    "TRELLIS_VAPID_PUBLIC_KEY, or leave it blank); see docs/nudges-push.md"
)


@register(Tags.security, TRELLIS, deploy=True)
def vapid_keys(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if not str(getattr(settings, "TRELLIS_VAPID_PRIVATE_KEY", "") or "").strip():
        return []
    try:
        webpush.vapid_keys()
    except webpush.PushNotConfigured as error:
        return [Error(f"web push keys are not usable: {error}", hint=VAPID_FIX, id="push.E001")]
    return []
