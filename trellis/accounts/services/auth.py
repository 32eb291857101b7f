"""Signing in: passwords, the lockout that slows down guessing, and password resets.

Every wrong password and every wrong verification code counts toward one lockout per
account. After `TRELLIS_LOGIN_FAILURES_BEFORE_LOCK` consecutive failures the account is
locked for `TRELLIS_LOCKOUT_BASE_SECONDS`, doubling with each further lockout up to
`TRELLIS_LOCKOUT_MAX_SECONDS`. A completed sign-in (password, then the code when the
person uses two-step verification) clears the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import User
from trellis.accounts.queries import is_staff

MAX_EMAIL_IN_AUDIT = 254


@dataclass(frozen=True)
class SignInResult:
    """What a password attempt came to: a person, a locked account, or a plain refusal."""

    user: User | None = None
    locked_until: datetime | None = None
    needs_second_step: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None


def lockout_seconds(lockout_number: int) -> int:
    """How long the n-th lockout (1, 2, 3, ...) lasts: doubling, with a ceiling."""
    base = int(settings.TRELLIS_LOCKOUT_BASE_SECONDS)
    ceiling = int(settings.TRELLIS_LOCKOUT_MAX_SECONDS)
    # Cap the exponent so a very long history cannot build a huge integer.
    exponent = min(max(lockout_number, 1) - 1, 40)
    return min(base * (2**exponent), ceiling)


def requires_second_step(user: User) -> bool:
    """Staff always use two-step verification; patients when they chose to."""

    return bool(user.mfa_opt_in or is_staff(user))


def _burn_hashing_time(password: str) -> None:
    # Unknown and locked accounts cost the same hashing work as a real check, so the
    # response time does not tell anyone whether an account exists.
    make_password(password)


@transaction.atomic
def check_password_sign_in(*, email: str, password: str, now: datetime) -> SignInResult:
    """Check an email and password, counting failures and refusing locked accounts.

    The sign-in pages call it through `trellis.signin.services.sign_in_with_password`,
    which also records a patient's sign-in on their program."""
    email = (email or "").strip()
    user = User.objects.filter(email__iexact=email).first()
    tried = email[:MAX_EMAIL_IN_AUDIT]
    if user is None:
        _burn_hashing_time(password)
        audit.record(
            action="auth.login_failed",
            actor_label=tried,
            details={"email": tried, "reason": "unknown_email"},
            at=now,
        )
        return SignInResult()
    if user.is_locked(now):
        _burn_hashing_time(password)
        audit.record(
            action="auth.login_failed",
            actor=user,
            subject=user,
            details={"email": tried, "reason": "locked"},
            at=now,
        )
        return SignInResult(locked_until=user.locked_until)
    password_ok = user.check_password(password)
    if not user.is_active:
        audit.record(
            action="auth.login_failed",
            actor=user,
            subject=user,
            details={"email": tried, "reason": "inactive"},
            at=now,
        )
        return SignInResult()
    if not password_ok:
        locked_until = record_failed_attempt(user=user, now=now, kind="password", email=tried)
        return SignInResult(locked_until=locked_until)
    second_step = requires_second_step(user)
    if not second_step:
        clear_failures(user=user)
    audit.record(
        action="auth.login",
        actor=user,
        subject=user,
        details={"method": "password", "second_step": "required" if second_step else "none"},
        at=now,
    )
    return SignInResult(user=user, needs_second_step=second_step)


@transaction.atomic
def record_failed_attempt(
    *, user: User, now: datetime, kind: str, email: str = ""
) -> datetime | None:
    """Count one wrong password or code; lock the account when the limit is reached.

    Returns when the account is locked until, if it is locked now. The row is locked
    and incremented in the database, so simultaneous failures are all counted.
    """
    row = User.objects.select_for_update().only("pk", "locked_until").get(pk=user.pk)
    if row.is_locked(now):
        return row.locked_until
    User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
    row = User.objects.only("pk", "failed_login_count", "lockout_count").get(pk=user.pk)
    action = "mfa.failed" if kind == "code" else "auth.login_failed"
    details: dict[str, object] = {"failures": row.failed_login_count}
    if kind != "code":
        details.update({"email": email or user.email, "reason": "wrong_password"})
    audit.record(action=action, actor=user, subject=user, details=details, at=now)
    if row.failed_login_count < int(settings.TRELLIS_LOGIN_FAILURES_BEFORE_LOCK):
        return None
    lockout_number = row.lockout_count + 1
    seconds = lockout_seconds(lockout_number)
    locked_until = now + timedelta(seconds=seconds)
    User.objects.filter(pk=user.pk).update(
        failed_login_count=0, lockout_count=lockout_number, locked_until=locked_until
    )
    user.failed_login_count, user.lockout_count, user.locked_until = 0, lockout_number, locked_until
    audit.record(
        action="auth.lockout",
        actor=user,
        subject=user,
        details={
            "locked_until": locked_until.isoformat(),
            "seconds": seconds,
            "lockout_number": lockout_number,
            "after": kind,
        },
        at=now,
    )
    return locked_until


def clear_failures(*, user: User) -> None:
    """A completed sign-in forgets earlier failures and lockouts."""
    if user.failed_login_count or user.lockout_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(
            failed_login_count=0, lockout_count=0, locked_until=None
        )
        user.failed_login_count, user.lockout_count, user.locked_until = 0, 0, None


@transaction.atomic
def sign_out(*, user: User, now: datetime) -> None:
    """Record that a person signed out (the view ends the session)."""
    audit.record(action="auth.logout", actor=user, subject=user, at=now)


@transaction.atomic
def change_password(*, user: User, new_password: str, now: datetime) -> User:
    """A signed-in person chose a new password (the form has checked the old one).

    Other sessions of this person end by themselves: each session carries a hash of
    the password it was opened with.
    """
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    audit.record(action="auth.password_change", actor=user, subject=user, at=now)
    return user


def password_reset_link(user: User) -> str:
    """The absolute, single-use link that lets `user` choose a new password."""
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.TRELLIS_BASE_URL.rstrip("/") + path


@transaction.atomic
def request_password_reset(*, email: str, now: datetime) -> None:
    """Email a reset link if an active account has this address; otherwise send nothing.

    The caller always shows the same answer, so nobody learns whether an address has
    an account. The email leaves only once the transaction has committed.
    """
    email = (email or "").strip()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    audit.record(
        action="auth.password_reset_requested",
        actor=user,
        actor_label="" if user else email[:MAX_EMAIL_IN_AUDIT],
        subject=user,
        details={"email": email[:MAX_EMAIL_IN_AUDIT], "account_found": user is not None},
        at=now,
    )
    if user is None:
        return
    link = password_reset_link(user)
    minutes = max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 60)
    subject = _("Reset your Trellis password")
    body = _(
        "Hello %(name)s,\n\n"
        "Someone (we hope you) asked to reset the password of your Trellis account.\n"
        "To choose a new password, open this link within %(minutes)s minutes:\n\n"
        "%(link)s\n\n"
        "The link works once. If you did not ask for this, you can ignore this email: "
        "your password stays as it is.\n\n"
        "Trellis"
    ) % {"name": user.display_name, "minutes": minutes, "link": link}
    recipient = user.email
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    )


@transaction.atomic
def reset_password(*, user: User, new_password: str, now: datetime) -> User:
    """Set the password chosen through an emailed link, and unlock the account.

    Changing the password ends every session the person had open elsewhere (each
    session carries a hash of the password it was opened with) and makes the link
    itself stop working, because the link's token depends on the old password.
    """
    user.set_password(new_password)
    user.failed_login_count = 0
    user.lockout_count = 0
    user.locked_until = None
    user.save(
        update_fields=[
            "password",
            "failed_login_count",
            "lockout_count",
            "locked_until",
            "updated_at",
        ]
    )
    audit.record(action="auth.password_reset", actor=user, subject=user, at=now)
    return user
