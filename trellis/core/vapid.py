"""VAPID keys (RFC 8292): the P-256 key pair a server signs web-push requests with.

Both halves travel as unpadded base64url, the form browsers and push services use: the
private key as its 32-byte scalar, the public key as the 65-byte uncompressed point that
a page hands to `PushManager.subscribe({applicationServerKey})`. Pure functions, no
settings: `trellis keys vapid` prints a pair and `trellis.nudges.push` reads one.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


class VapidKeyError(ValueError):
    """A configured VAPID key that is not a P-256 key in unpadded base64url."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; binascii.Error for anything else."""
    cleaned = text.strip()
    if not cleaned or any(c not in _B64URL for c in cleaned.rstrip("=")):
        raise binascii.Error("not base64url")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def generate_pair() -> tuple[str, str]:
    """A new (private, public) pair in unpadded base64url."""
    private = ec.generate_private_key(ec.SECP256R1())
    scalar = private.private_numbers().private_value.to_bytes(32, "big")
    return b64url(scalar), b64url(public_bytes(private.public_key()))


def private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """The private key of its 32-byte base64url form; VapidKeyError if it is not one."""
    try:
        raw = b64url_decode(text)
    except (binascii.Error, ValueError):
        raise VapidKeyError("the private key is not base64url") from None
    if len(raw) != 32:
        raise VapidKeyError("the private key must be 32 bytes (P-256)")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        raise VapidKeyError("the private key is not a P-256 key") from None


def public_key_of(private_text: str) -> str:
    """The public half, in base64url, of a private key in base64url."""
    return b64url(public_bytes(private_key(private_text).public_key()))


def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """A public key (65-byte uncompressed point) of its base64url form."""
    try:
        raw = b64url_decode(text)
    except (binascii.Error, ValueError):
        raise VapidKeyError("the public key is not base64url") from None
    if len(raw) != 65 or raw[0] != 4:
        raise VapidKeyError("the public key must be a 65-byte uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise VapidKeyError("the public key is not a point on P-256") from None
