"""Reading MFA state and the small pure pieces of TOTP and recovery codes.

Writes live in trellis.accounts.services.mfa.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts.models import RecoveryCode

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are copied by hand from paper.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10


def has_confirmed_device(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def unused_recovery_codes(user: Any) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def new_secret_hex() -> str:
    """A fresh 160-bit TOTP secret, as hex (django-otp's storage format)."""
    return secrets.token_hex(20)


def secret_base32(key_hex: str) -> str:
    """The secret as authenticator apps take it when typed by hand, in groups of four."""
    raw = base64.b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def provisioning_uri(key_hex: str, account: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "Trellis"))
    secret = base64.b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": TOTP_DIGITS,
            "period": TOTP_STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


def qr_svg_data_uri(uri: str) -> str:
    """The QR code as an SVG data: URI (drawn on the server; no script needed)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def clean_code(code: str) -> str:
    """What a person typed, without spaces and dashes, in lower case."""
    return "".join(ch for ch in (code or "").strip().lower() if ch not in " -\t")


def current_step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP_SECONDS


def code_matches_secret(key_hex: str, code: str, now: datetime) -> bool:
    """Whether `code` is the authenticator code for `key_hex` now (one step either way)."""
    cleaned = clean_code(code)
    if not (cleaned.isdigit() and len(cleaned) == TOTP_DIGITS):
        return False
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        return False
    totp = TOTP(key, step=TOTP_STEP_SECONDS, digits=TOTP_DIGITS)
    totp.time = now.timestamp()
    return bool(totp.verify(int(cleaned), tolerance=1))


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    half = RECOVERY_CODE_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


def recovery_code_hash(code: str) -> str:
    """SHA-256 of the code as typed, ignoring case, spaces and dashes."""
    return hashlib.sha256(clean_code(code).encode()).hexdigest()
