"""Signing in: passwords, the audit rows of failures and throttling, and password resets.

No account is ever locked, and nothing here tells a known address from an unknown one:
guessing is slowed by where it comes from (`trellis.accounts.throttle`, which the sign-in
pages ask before and after each attempt). These services check and record; an unknown
address costs the same password hash as a real check. Password-reset e-mails are limited
per address and per client, and the answer to the requester never says which applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.language import language_for
from trellis.accounts.models import PasswordResetRequest, User
from trellis.accounts.queries import is_staff

MAX_EMAIL_IN_AUDIT = 254
RESET_LIMIT_WINDOW = timedelta(hours=1)
# Rows of reset requests are kept a day, long enough for any limit, then dropped.
RESET_REQUESTS_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class SignInResult:
    """What a password attempt came to: a person, or a refusal that says nothing more."""

    user: User | None = None
    needs_second_step: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None


def requires_second_step(user: User) -> bool:
    """Staff always use two-step verification; patients when they chose to."""

    return bool(user.mfa_opt_in or is_staff(user))


def _burn_hashing_time(password: str) -> None:
    # An unknown address costs the same hashing work as a real check, so the response
    # time does not tell anyone whether an account exists.
    make_password(password)


@transaction.atomic
def check_password_sign_in(*, email: str, password: str, now: datetime) -> SignInResult:
    """Check an email and password; every failure is audited with its reason.

    The sign-in pages call it through `trellis.signin.services.sign_in_with_password`,
    which also records a patient's sign-in on their program; they ask
    `trellis.accounts.throttle` first whether the attempt may be checked at all."""
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
        record_wrong_secret(user=user, now=now, kind="password", email=tried)
        return SignInResult()
    second_step = requires_second_step(user)
    audit.record(
        action="auth.login",
        actor=user,
        subject=user,
        details={"method": "password", "second_step": "required" if second_step else "none"},
        at=now,
    )
    return SignInResult(user=user, needs_second_step=second_step)


@transaction.atomic
def record_wrong_secret(
    *, user: User, now: datetime, kind: Literal["password", "code"], email: str = ""
) -> None:
    """Audit a wrong password or code typed for a known account (`mfa.failed` for a code).

    It locks nothing: the sign-in pages count the failure against its source
    (`trellis.accounts.throttle.count_failure`).
    """
    if kind == "code":
        audit.record(action="mfa.failed", actor=user, subject=user, at=now)
        return
    audit.record(
        action="auth.login_failed",
        actor=user,
        subject=user,
        details={"email": email or user.email, "reason": "wrong_password"},
        at=now,
    )


@transaction.atomic
def record_throttled(
    *, email: str, now: datetime, stage: Literal["password", "code"], started: bool = False
) -> None:
    """Audit that a source is held back: `started` when a failure has just reached a limit,
    otherwise an attempt that was not checked at all.

    The row names the account when there is one (the audit trail is for the clinic, not for
    whoever is guessing); the answer the person sees is the same either way.
    """
    tried = (email or "").strip()[:MAX_EMAIL_IN_AUDIT]
    user = User.objects.filter(email__iexact=tried).first() if tried else None
    audit.record(
        action="auth.throttled",
        actor=user,
        actor_label="" if user else tried,
        subject=user,
        details={"email": tried, "stage": stage, **({"started": True} if started else {})},
        at=now,
    )


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


def _reset_email_digest(email: str) -> str:
    return salted_hmac(
        "trellis.accounts.password-reset-limit", email.lower(), algorithm="sha256"
    ).hexdigest()


def _reset_limit_reached(*, digest: str, ip: str | None, now: datetime) -> str:
    """Which limit a new reset request would pass ("address", "email"), or ""."""
    recent = PasswordResetRequest.objects.filter(requested_at__gt=now - RESET_LIMIT_WINDOW)
    if ip and recent.filter(ip_address=ip).count() >= int(
        settings.TRELLIS_PASSWORD_RESETS_PER_ADDRESS
    ):
        return "address"
    per_email = int(settings.TRELLIS_PASSWORD_RESETS_PER_EMAIL)
    if recent.filter(email_digest=digest).count() >= per_email:
        return "email"
    return ""


@transaction.atomic
def request_password_reset(*, email: str, now: datetime, ip: str | None = None) -> None:
    """Email a reset link if an active account has this address; otherwise send nothing.

    At most `TRELLIS_PASSWORD_RESETS_PER_EMAIL` requests an hour are let through for one
    address, and `TRELLIS_PASSWORD_RESETS_PER_ADDRESS` from one client address (`ip`),
    counted alike for addresses with and without an account; a request past either limit
    sends nothing. The caller always shows the same answer, so nobody learns whether an
    address has an account or whether a limit was reached. The email leaves only once the
    transaction has committed.
    """
    email = (email or "").strip()
    # The account's row is locked so that simultaneous requests for one person are counted
    # one after the other and cannot all slip under the limit.
    user = User.objects.select_for_update().filter(email__iexact=email, is_active=True).first()
    PasswordResetRequest.objects.filter(requested_at__lt=now - RESET_REQUESTS_KEPT).delete()
    digest = _reset_email_digest(email)
    limited = _reset_limit_reached(digest=digest, ip=ip, now=now)
    details: dict[str, object] = {
        "email": email[:MAX_EMAIL_IN_AUDIT],
        "account_found": user is not None,
        "sent": user is not None and not limited,
    }
    if limited:
        details["limit"] = limited
    audit.record(
        action="auth.password_reset_requested",
        actor=user,
        actor_label="" if user else email[:MAX_EMAIL_IN_AUDIT],
        subject=user,
        details=details,
        at=now,
    )
    if limited:
        return
    PasswordResetRequest.objects.create(email_digest=digest, ip_address=ip, requested_at=now)
    if user is None:
        return
    link = password_reset_link(user)
    minutes = max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 60)
    with translation.override(language_for(user, translation.get_language() or "")):
        subject, body = _reset_mail(user, minutes, link)
    recipient = user.email
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    )


def _reset_mail(user: User, minutes: int, link: str) -> tuple[str, str]:
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
    return subject, body


@transaction.atomic
def reset_password(*, user: User, new_password: str, now: datetime) -> User:
    """Set the password chosen through an emailed link.

    Changing the password ends every session the person had open elsewhere (each
    session carries a hash of the password it was opened with) and makes the link
    itself stop working, because the link's token depends on the old password.
    """
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    audit.record(action="auth.password_reset", actor=user, subject=user, at=now)
    return user
