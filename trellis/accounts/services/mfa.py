"""Enrolling, confirming and removing TOTP devices, and one-time recovery codes."""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis import audit
from trellis.accounts import mfa as mfa_reads
from trellis.accounts.models import RecoveryCode, User
from trellis.accounts.queries import is_staff
from trellis.accounts.services.auth import record_wrong_secret


@transaction.atomic
def enroll_totp(
    *, user: User, actor: User | None, key_hex: str | None = None, confirmed: bool = False
) -> TOTPDevice:
    """Start (or, for seeded demo staff, complete) TOTP enrollment with a new secret."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice(user=user, name="Authenticator app", confirmed=confirmed)
    if key_hex is not None:
        binascii.unhexlify(key_hex)  # refuse a malformed secret early
        device.key = key_hex
    device.save()
    if confirmed:
        audit.record(
            action="mfa.enable", actor=actor or user, subject=user, details={"device": "totp"}
        )
    return device


@dataclass(frozen=True)
class Enrollment:
    """A confirmed authenticator and the recovery codes to show the person once."""

    device: TOTPDevice
    recovery_codes: list[str]


@transaction.atomic
def confirm_totp(*, user: User, key_hex: str, code: str, now: datetime) -> Enrollment | None:
    """Turn on two-step verification with the secret the person's app now holds.

    Returns None when the code does not match the secret (nothing is saved then).
    On success any earlier device is replaced, ten fresh recovery codes are made, and
    a patient's choice to use two-step verification is remembered.
    """
    if not mfa_reads.code_matches_secret(key_hex, code, now):
        return None
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(
        user=user, name="Authenticator app", key=key_hex, confirmed=True
    )
    # The code just typed must not be usable a second time.
    device.last_t = mfa_reads.current_step(now)
    device.save(update_fields=["last_t"])
    codes = _replace_recovery_codes(user)
    if not user.mfa_opt_in:
        user.mfa_opt_in = True
        user.save(update_fields=["mfa_opt_in", "updated_at"])
    audit.record(
        action="mfa.enable",
        actor=user,
        subject=user,
        details={"device": "totp", "recovery_codes": len(codes)},
        at=now,
    )
    return Enrollment(device=device, recovery_codes=codes)


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [mfa_reads.new_recovery_code() for _ in range(mfa_reads.RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=mfa_reads.recovery_code_hash(c)) for c in codes
    )
    return codes


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of one code typed at sign-in or to confirm a sensitive change."""

    device: TOTPDevice | None = None
    used_recovery_code: bool = False

    @property
    def ok(self) -> bool:
        return self.device is not None


@transaction.atomic
def check_code(
    *, user: User, code: str, now: datetime, allow_recovery: bool = True, purpose: str
) -> CodeCheck:
    """Check an authenticator code (or, where allowed, an unused recovery code).

    A wrong code is audited as `mfa.failed`; the pages count it against its source like a
    wrong password (`trellis.accounts.throttle`). A recovery code works once: it is marked
    used in this transaction.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return CodeCheck()
    cleaned = mfa_reads.clean_code(code)
    if cleaned.isdigit() and len(cleaned) == device.digits:
        if device.verify_token(cleaned):
            return CodeCheck(device=device)
    elif allow_recovery and cleaned:
        used = (
            RecoveryCode.objects.select_for_update()
            .filter(
                user=user, code_hash=mfa_reads.recovery_code_hash(cleaned), used_at__isnull=True
            )
            .first()
        )
        if used is not None:
            used.used_at = now
            used.save(update_fields=["used_at", "updated_at"])
            remaining = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
            audit.record(
                action="mfa.recovery_code_used",
                actor=user,
                subject=user,
                details={"remaining": remaining, "purpose": purpose},
                at=now,
            )
            return CodeCheck(device=device, used_recovery_code=True)
    # Returned, not raised, so the audit row is committed.
    record_wrong_secret(user=user, now=now, kind="code")
    return CodeCheck()


@transaction.atomic
def complete_second_step(*, user: User, check: CodeCheck, now: datetime) -> None:
    """The person finished signing in with a code (the page forgets this address's failures
    for them, `trellis.accounts.throttle.forget_failures`)."""
    audit.record(
        action="mfa.verified",
        actor=user,
        subject=user,
        details={"method": "recovery_code" if check.used_recovery_code else "totp"},
        at=now,
    )


@transaction.atomic
def regenerate_recovery_codes(*, user: User, now: datetime) -> list[str]:
    """Replace every recovery code with ten new ones (the old ones stop working)."""
    codes = _replace_recovery_codes(user)
    audit.record(
        action="mfa.recovery_codes_regenerated",
        actor=user,
        subject=user,
        details={"count": len(codes)},
        at=now,
    )
    return codes


@transaction.atomic
def disable_mfa(*, user: User, now: datetime) -> None:
    """A patient turns two-step verification off. Staff may not: it protects patients."""

    if is_staff(user):
        raise PermissionDenied(_("Staff accounts must keep two-step verification turned on."))
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    user.mfa_opt_in = False
    user.save(update_fields=["mfa_opt_in", "updated_at"])
    audit.record(action="mfa.disable", actor=user, subject=user, at=now)
