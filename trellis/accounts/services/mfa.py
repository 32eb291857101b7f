"""Enrolling, confirming and removing TOTP devices, and one-time recovery codes."""

from __future__ import annotations

import binascii

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis import audit
from trellis.accounts.models import User


@transaction.atomic
def enroll_totp(*, user: User, actor: User | None, key_hex: str | None = None, confirmed: bool = False) -> TOTPDevice:
    """Start (or, for seeded demo staff, complete) TOTP enrollment with a new secret."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice(user=user, name="Authenticator app", confirmed=confirmed)
    if key_hex is not None:
        binascii.unhexlify(key_hex)  # refuse a malformed secret early
        device.key = key_hex
    device.save()
    if confirmed:
        audit.record(action="mfa.enable", actor=actor or user, subject=user, details={"device": "totp"})
    return device
