"""Phone numbers for texts: the one written form Trellis sends to, and the keyed hash that
lets an inbound text find the person who sent it.

A person's number is stored encrypted (`accounts.User.phone`), so it cannot be searched.
`nudges.PhoneIndex` keeps, for each person with a number, an HMAC-SHA-256 of the number in
E.164 form, keyed with a key derived from the newest field-encryption key
(`TRELLIS_DATA_KEYS`). A lookup tries the hash under every configured key, so after a key
rotation the index still answers until it is refreshed under the newest key.

The number is saved in `accounts`, a layer below this one, so the index is refreshed from
here: by the SMS sender before each text and by the appointment reminders before they queue
(`refresh_phone_index`), and in bulk by `refresh_all`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable

from django.db import transaction

from trellis.accounts.models import User
from trellis.core import crypto
from trellis.nudges.models import PhoneIndex

_LABEL = b"trellis nudges phone index v1"
_SEPARATORS = re.compile(r"[\s().\-/]")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalize(number: str) -> str:
    """The number in E.164 form (+ country code and digits), or "" if it is not one.

    Spaces, dots, hyphens, slashes and brackets are dropped; a leading international
    prefix 00 becomes +. A number without its country code cannot be told apart from a
    number abroad, so it is not guessed at.
    """
    compact = _SEPARATORS.sub("", (number or "").strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if E164.match(compact) else ""


def _index_key(data_key: bytes) -> bytes:
    return hmac.new(data_key, _LABEL, hashlib.sha256).digest()


def number_hash(number: str) -> str:
    """The keyed hash of a normalized number under the newest key ("" for no number)."""
    if not number:
        return ""
    ring = crypto.keyring()
    key = _index_key(ring.key(ring.current_id))
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def number_hashes(number: str) -> list[str]:
    """The hash of `number` under every configured key, newest first (for lookups)."""
    normalized = normalize(number)
    if not normalized:
        return []
    return [
        hmac.new(_index_key(key), normalized.encode(), hashlib.sha256).hexdigest()
        for _kid, key in crypto.keyring().keys
    ]


def users_for_number(number: str) -> list[User]:
    """The people whose saved number is `number` (usually one; a shared phone gives more)."""
    hashes = number_hashes(number)
    if not hashes:
        return []
    return list(
        User.objects.filter(
            pk__in=PhoneIndex.objects.filter(number_hash__in=hashes).values("user_id"),
            is_active=True,
        ).order_by("created_at", "pk")
    )


@transaction.atomic
def refresh_phone_index(users: Iterable[User]) -> int:
    """Make the index match these people's saved numbers: one row per person with a valid
    number (written under the newest key), none for a person without. Set-based: one
    upsert and one delete whatever the number of people. Returns how many rows it wrote."""
    rows: list[PhoneIndex] = []
    without: list[uuid.UUID] = []
    for user in users:
        hashed = number_hash(normalize(user.phone or ""))
        if hashed:
            rows.append(PhoneIndex(user_id=user.pk, number_hash=hashed))
        else:
            without.append(user.pk)
    if without:
        PhoneIndex.objects.filter(user_id__in=without).delete()
    if rows:
        PhoneIndex.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["user"], update_fields=["number_hash"]
        )
    return len(rows)


def refresh_all(batch: int = 1000) -> int:
    """Rebuild the index for everyone with a saved number (after a key rotation)."""
    written = 0
    PhoneIndex.objects.exclude(user__in=User.objects.exclude(phone="")).delete()
    queryset = User.objects.exclude(phone="").only("pk", "phone").order_by("pk")
    chunk: list[User] = []
    for user in queryset.iterator(chunk_size=batch):
        chunk.append(user)
        if len(chunk) >= batch:
            written += refresh_phone_index(chunk)
            chunk = []
    return written + refresh_phone_index(chunk)
