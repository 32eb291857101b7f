"""Signing in as one action: the account's check (trellis.accounts) and, for a patient, the
sign-in counted as activity on their program (trellis.journey), in one transaction."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import User
from trellis.accounts.services import mfa
from trellis.accounts.services.auth import SignInResult, check_password_sign_in
from trellis.accounts.services.mfa import CodeCheck
from trellis.core import timeutil
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


@transaction.atomic
def set_time_zone(*, user: User, time_zone: str) -> User:
    """A member of staff chose the zone their pages show times in (blank: the clinic's)."""
    if time_zone and not timeutil.is_valid_zone(time_zone):
        raise ValidationError({"time_zone": _("Choose a time zone from the list.")})
    before = user.time_zone
    user.time_zone = time_zone
    user.save(update_fields=["time_zone", "updated_at"])
    audit.record(
        action="account.time_zone",
        actor=user,
        subject=user,
        details={"from": before, "to": time_zone},
    )
    return user
