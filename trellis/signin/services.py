"""Signing in as one action: the account's check (trellis.accounts) and, for a patient, the
sign-in counted as activity on their program (trellis.journey), in one transaction."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from trellis.accounts.models import User
from trellis.accounts.services import mfa
from trellis.accounts.services.auth import SignInResult, check_password_sign_in
from trellis.accounts.services.mfa import CodeCheck
from trellis.journey.services import record_login


@transaction.atomic
def sign_in_with_password(*, email: str, password: str, now: datetime) -> SignInResult:
    """Check an email and password (every failure audited; the page has asked the throttle
    first); a person who needs no second step is signed in now, and a patient's sign-in is
    one `login` event on their current program (with a second step, when
    `complete_second_step` runs)."""
    result = check_password_sign_in(email=email, password=password, now=now)
    if result.user is not None and not result.needs_second_step:
        record_login(result.user, now=now)
    return result


@transaction.atomic
def complete_second_step(*, user: User, check: CodeCheck, now: datetime) -> None:
    """The one-time code was right: the sign-in is complete (trellis.accounts), and a
    patient's sign-in is one `login` event on their current program."""
    mfa.complete_second_step(user=user, check=check, now=now)
    record_login(user, now=now)
