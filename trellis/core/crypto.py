"""AES-256-GCM encryption of free text at rest, with rotatable keys.

Keys come from TRELLIS_DATA_KEYS as "key-id:base64-key" pairs separated by commas,
newest first. Every ciphertext names the key it was made with, so older keys keep
decrypting until `trellis keys rotate` has re-encrypted everything under the newest.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyConfigurationError(ValueError):
    """TRELLIS_DATA_KEYS is missing, malformed, or lacks a key a value needs."""


class DecryptionError(ValueError):
    """A stored value could not be authenticated: wrong key, wrong column, or tampering."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def key(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise KeyConfigurationError(
            f"no data key with id {key_id!r} is configured; add it to TRELLIS_DATA_KEYS"
        )


def parse_keys(spec: str) -> KeyRing:
    """Parse "id:base64,id:base64" (newest first) and check each key is 32 bytes."""
    pairs: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for chunk in (c.strip() for c in spec.split(",")):
        if not chunk:
            continue
        kid, sep, encoded = chunk.partition(":")
        if not sep or not _KEY_ID.match(kid):
            raise KeyConfigurationError(f"data key entry {kid!r} must look like key-id:base64-key")
        if kid in seen:
            raise KeyConfigurationError(f"data key id {kid!r} appears twice")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigurationError(f"data key {kid!r} is not valid base64") from None
        if len(key) != 32:
            raise KeyConfigurationError(
                f"data key {kid!r} must be 32 bytes (AES-256), not {len(key)}"
            )
        seen.add(kid)
        pairs.append((kid, key))
    if not pairs:
        raise KeyConfigurationError("TRELLIS_DATA_KEYS holds no key")
    return KeyRing(tuple(pairs))


@lru_cache(maxsize=8)
def _ring_for(spec: str) -> KeyRing:
    return parse_keys(spec)


def keyring() -> KeyRing:
    from django.conf import settings

    return _ring_for(settings.TRELLIS_DATA_KEYS)


def new_key() -> str:
    """A fresh random key, base64-encoded, for TRELLIS_DATA_KEYS."""
    return base64.b64encode(os.urandom(32)).decode()


def encrypt(plaintext: str, *, context: str, ring: KeyRing | None = None) -> str:
    """Encrypt under the newest key; `context` (the column) is bound as associated data."""
    ring = ring or keyring()
    kid = ring.current_id
    nonce = os.urandom(12)
    sealed = AESGCM(ring.key(kid)).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{PREFIX}{kid}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(stored: str) -> str | None:
    if not stored.startswith(PREFIX):
        return None
    return stored[len(PREFIX) :].split(":", 1)[0]


def decrypt(stored: str, *, context: str, ring: KeyRing | None = None) -> str:
    ring = ring or keyring()
    if not stored.startswith(PREFIX):
        raise DecryptionError("value is not in the encrypted format")
    kid, _, payload = stored[len(PREFIX) :].partition(":")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("encrypted value is not valid base64") from None
    if len(raw) < 12 + 16:
        raise DecryptionError("encrypted value is too short")
    try:
        return AESGCM(ring.key(kid)).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except InvalidTag:
        raise DecryptionError(f"encrypted value failed authentication under key {kid!r}") from None
