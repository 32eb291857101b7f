"""Web push, the side that needs no person at a page: the VAPID keys Trellis signs with,
what a push service said about a device (it took a message; it is gone), and the signed
link a notification opens. The push channel (`channels.push`) sends with these; the
subscription service (`trellis.nudges.push`) stores the devices.

Keys come from settings (TRELLIS_VAPID_PRIVATE_KEY, TRELLIS_VAPID_PUBLIC_KEY,
TRELLIS_VAPID_SUBJECT; `trellis keys vapid` prints a pair). Outside production, with none
set, one pair is made the first time it is needed and kept in VAR_DIR, so the web server
and the workers of a demo sign with the same key the browser subscribed with.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from trellis import audit
from trellis.core import vapid
from trellis.core.files import PRIVATE_FILE, private_dir
from trellis.nudges.models import PushSubscription

OPENED_SALT = "trellis.nudges.push.opened"


class PushNotConfigured(RuntimeError):
    """Production without a usable VAPID key pair: push is off until one is set."""


@dataclass(frozen=True)
class VapidKeys:
    private: str  # 32-byte scalar, base64url
    public: str  # 65-byte uncompressed point, base64url: the page's applicationServerKey
    subject: str  # mailto: or https: contact the push services see


def vapid_keys() -> VapidKeys:
    """The key pair Trellis signs pushes with; PushNotConfigured when there is none."""
    private = str(getattr(settings, "TRELLIS_VAPID_PRIVATE_KEY", "") or "").strip()
    public = str(getattr(settings, "TRELLIS_VAPID_PUBLIC_KEY", "") or "").strip()
    if private:
        try:
            derived = vapid.public_key_of(private)
            if public and vapid.b64url_decode(public) != vapid.b64url_decode(derived):
                raise PushNotConfigured(
                    "TRELLIS_VAPID_PUBLIC_KEY is not the public half of "
                    "TRELLIS_VAPID_PRIVATE_KEY (leave it blank to derive it)"
                )
        except (vapid.VapidKeyError, ValueError) as error:
            raise PushNotConfigured(f"TRELLIS_VAPID_PRIVATE_KEY/_PUBLIC_KEY: {error}") from None
        public = derived
    elif settings.PRODUCTION:
        raise PushNotConfigured("TRELLIS_VAPID_PRIVATE_KEY is not set")
    elif settings.TRELLIS_ENV == "test":
        private, public = _ephemeral_pair()
    else:
        private, public = _development_pair(Path(settings.VAR_DIR) / "vapid-development.json")
    return VapidKeys(private=private, public=public, subject=vapid_subject())


def vapid_subject() -> str:
    """Who the push services may contact about Trellis's pushes (RFC 8292's `sub`)."""
    configured = str(getattr(settings, "TRELLIS_VAPID_SUBJECT", "") or "").strip()
    if configured:
        return configured
    address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1] or "no-reply@trellis.local"
    return f"mailto:{address}"


_pairs: dict[Path, tuple[str, str]] = {}
_pairs_lock = threading.Lock()


_EPHEMERAL = Path("<this process only>")


def _ephemeral_pair() -> tuple[str, str]:
    """Tests: a pair of this process's own, never written anywhere."""
    with _pairs_lock:
        if _EPHEMERAL not in _pairs:
            _pairs[_EPHEMERAL] = vapid.generate_pair()
        return _pairs[_EPHEMERAL]


def _development_pair(path: Path) -> tuple[str, str]:
    """The development pair kept in `path`, made (0600, once, race-free) if missing."""
    with _pairs_lock:
        if path in _pairs:
            return _pairs[path]
        if not path.exists():
            private_dir(path.parent)
            private, public = vapid.generate_pair()
            draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            with os.fdopen(fd, "w") as out:
                json.dump({"private": private, "public": public}, out)
            try:
                os.link(draft, path)  # fails if another process made one first: use theirs
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        stored = json.loads(path.read_text())
        pair = (str(stored["private"]), vapid.public_key_of(str(stored["private"])))
        _pairs[path] = pair
        return pair


@transaction.atomic
def expire(subscription: PushSubscription, *, status: int, at: datetime) -> None:
    """The push service said this subscription is gone (404 or 410): forget it."""
    audit.record(
        action="push.expired",
        actor_label="push service",
        subject=subscription,
        patient=subscription.user_id,
        details={"status": status},
        at=at,
    )
    PushSubscription.objects.filter(pk=subscription.pk).delete()


def record_success(subscription: PushSubscription, *, at: datetime) -> None:
    """The push service took a message for this device (an update by id: the person may
    have removed the device a moment ago, and that is no failure of the sending)."""
    PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=at, updated_at=at)


# The link a notification opens -----------------------------------------------------------


def opened_token(delivery_id: uuid.UUID | str) -> str:
    return signing.dumps({"d": str(delivery_id)}, salt=OPENED_SALT)


def read_opened_token(token: str) -> uuid.UUID:
    """The delivery a notification's link names; signing.BadSignature for anything else."""
    try:
        return uuid.UUID(str(signing.loads(token, salt=OPENED_SALT)["d"]))
    except (KeyError, TypeError, ValueError) as error:
        raise signing.BadSignature("not a push link") from error


def opened_path(delivery_id: uuid.UUID | str) -> str:
    """The path a tap on the notification opens: marks the delivery opened, then goes on."""
    return reverse("nudges_push:opened", args=[opened_token(delivery_id)])
