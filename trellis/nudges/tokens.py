"""Signed unsubscribe tokens: a link in an e-mail that works without signing in.

The token names the person and the channel, signed with the site's secret
(django.core.signing) under a salt of its own, so it cannot be forged or reused for any
other purpose. It does not expire: an unsubscribe link in an old e-mail must still work.
"""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "trellis.nudges.unsubscribe"


def unsubscribe_token(user_id: uuid.UUID | str, channel: str = "email") -> str:
    return signing.dumps({"u": str(user_id), "c": channel}, salt=SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[uuid.UUID, str]:
    """(user id, channel) of a valid token; signing.BadSignature for anything else."""
    try:
        payload = signing.loads(token, salt=SALT)
        return uuid.UUID(str(payload["u"])), str(payload["c"])
    except (KeyError, TypeError, ValueError) as error:
        raise signing.BadSignature("not an unsubscribe token") from error


def absolute(path: str) -> str:
    """A path on this Trellis as a full https link for an e-mail or a text."""
    return settings.TRELLIS_BASE_URL.rstrip("/") + path


def unsubscribe_url(user_id: uuid.UUID | str, channel: str = "email") -> str:
    return absolute(reverse("nudges:unsubscribe", args=[unsubscribe_token(user_id, channel)]))


def mail_domain() -> str:
    """The domain of Trellis's own mail: the sender address's, else the site's host."""
    sender = str(settings.DEFAULT_FROM_EMAIL)
    if "@" in sender:
        return sender.rsplit("@", 1)[1].strip(" >") or "trellis.local"
    return urlsplit(settings.TRELLIS_BASE_URL).hostname or "trellis.local"


def message_id(key: str) -> str:
    """A Message-ID that is the same every time for the same delivery key, so a message
    sent twice after a crash is recognisably one message to the receiving server."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<nudge.{digest}@{mail_domain()}>"
