"""A text-message outbox: each text Trellis would send is written to a file in a folder
instead of going to the SMS provider. The demo uses it (var/outbox/sms/), so a person
trying Trellis can read every text it sends without a provider account.

Chosen by configuration: `TRELLIS_SMS["OUTBOX"]` (from `TRELLIS_SMS_OUTBOX`, a folder under
Trellis's var directory). When it is set outside production, the SMS channel writes here
instead of posting to the provider; in production it is ignored, so a forgotten setting
never swallows a clinic's texts.

One file per text, named by the moment and the delivery, holding the headers a provider
would get (To, From, the delivery) and the body, exactly the text that would go out.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from trellis.nudges.channels.base import Outcome

if TYPE_CHECKING:
    from trellis.nudges.models import Delivery

PROVIDER_PREFIX = "outbox-"


def folder() -> Path | None:
    """The outbox folder, or None when texts go to the provider."""
    if getattr(settings, "PRODUCTION", False):
        return None
    config: dict[str, Any] = getattr(settings, "TRELLIS_SMS", None) or {}
    raw = str(config.get("OUTBOX") or "").strip()
    return Path(raw) if raw else None


def configured() -> bool:
    return folder() is not None


def write_text(delivery: Delivery, *, to: str, body: str, sender: str = "") -> Outcome:
    """Write one text to the outbox: "sent" (an outbox has no delivery receipts), or a
    temporary failure when the folder cannot be written (fix it, and the retry sends)."""
    target = folder()
    if target is None:
        return Outcome(status="temporary", reason="sms_not_configured")
    now = datetime.now(UTC)
    name = f"{now:%Y%m%dT%H%M%S}-{delivery.pk}.txt"
    content = (
        f"To: {to}\n"
        f"From: {sender or 'Trellis'}\n"
        f"Date: {now.isoformat(timespec='seconds')}\n"
        f"Delivery: {delivery.pk}\n"
        f"Template: {delivery.template}\n"
        "\n"
        f"{body}\n"
    )
    try:
        target.mkdir(parents=True, exist_ok=True)
        # Written whole or not at all: a reader of the folder never sees half a text.
        handle, temporary = tempfile.mkstemp(dir=target, prefix=".", suffix=".part")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
        os.replace(temporary, target / name)
    except OSError as error:
        return Outcome(status="temporary", reason=f"outbox: {type(error).__name__}"[:80])
    return Outcome(status="sent", provider_id=f"{PROVIDER_PREFIX}{delivery.pk}")
