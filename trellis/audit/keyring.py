"""The keys that seal the audit chain, held outside the database.

TRELLIS_AUDIT_KEYS holds "key-id:base64-key" pairs separated by commas, newest first,
in the same form as the data keys (`trellis keys generate` prints one). New events are
sealed with the newest key and record its id; verification looks up each event's own
key, so adding a key needs no rewrite of older events. A key stays configured for as
long as events sealed with it are kept, which in an append-only trail is for good.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_KEY_BYTES = 32


class AuditKeyError(ValueError):
    """TRELLIS_AUDIT_KEYS is missing or malformed, or lacks a key an event needs."""


@dataclass(frozen=True)
class AuditKeyRing:
    keys: tuple[tuple[str, bytes], ...]

    @property
    def current(self) -> tuple[str, bytes]:
        """The newest key (id and bytes): the one new events are sealed with."""
        return self.keys[0]

    def key(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise AuditKeyError(
            f"no audit key with id {key_id!r} is configured; add it to TRELLIS_AUDIT_KEYS"
        )

    def holds(self, key_id: str) -> bool:
        return any(kid == key_id for kid, _ in self.keys)


def parse_audit_keys(spec: str) -> AuditKeyRing:
    """Parse "id:base64,id:base64" (newest first); each key must be 32 bytes or more."""
    pairs: list[tuple[str, bytes]] = []
    for chunk in (c.strip() for c in spec.split(",")):
        if not chunk:
            continue
        kid, sep, encoded = chunk.partition(":")
        if not sep or not KEY_ID.match(kid):
            raise AuditKeyError(f"audit key entry {kid!r} must look like key-id:base64-key")
        if any(kid == seen for seen, _ in pairs):
            raise AuditKeyError(f"audit key id {kid!r} appears twice")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise AuditKeyError(f"audit key {kid!r} is not valid base64") from None
        if len(key) < MIN_KEY_BYTES:
            raise AuditKeyError(
                f"audit key {kid!r} must be at least {MIN_KEY_BYTES} bytes, not {len(key)}"
            )
        pairs.append((kid, key))
    if not pairs:
        raise AuditKeyError("TRELLIS_AUDIT_KEYS holds no key")
    return AuditKeyRing(tuple(pairs))


@lru_cache(maxsize=8)
def _ring_for(spec: str) -> AuditKeyRing:
    return parse_audit_keys(spec)


def audit_keyring() -> AuditKeyRing:
    """The configured audit keys, parsed once per distinct setting value."""
    return _ring_for(settings.TRELLIS_AUDIT_KEYS)
