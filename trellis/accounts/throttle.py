"""Slowing down password and code guessing by where it comes from, never by locking an account.

django-axes keeps the counts (in the database, so every web process shares them and a
restart forgets nothing); this module tells it what to count and how far each count may go.

Why it works this way (docs/authentication.md says the same for clinic IT):

- No account is ever locked. An account that locked after five wrong passwords told a
  stranger that the address had an account (a real one answered "locked", an unknown one
  never did), and let anyone keep a patient out of their own record by typing wrong
  passwords on purpose.
- Three counts of failures (wrong passwords and wrong codes) within a sliding window
  (`TRELLIS_SIGNIN_WINDOW_SECONDS`, 15 minutes): from one address
  (`TRELLIS_SIGNIN_FAILURES_PER_ADDRESS`, 20), for one e-mail from one address
  (`TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS`, 5), and for one e-mail from browsers
  that have never finished signing in to it (`TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT`, 10).
  Each counts the e-mail as typed, whether or not an account has it, so a known and an
  unknown address are held back alike and get the same answer.
- Once a count reaches its limit, attempts from that source are not checked at all until
  the window has passed since its last counted failure: they get one page (HTTP 429) that
  names no account and says to wait or reset the password.
- A browser in which the owner finished a sign-in (or a password reset from the e-mailed
  link) carries a signed mark for that e-mail. Only the count for that e-mail from that
  address applies to it, so strangers guessing from many addresses, or sharing the owner's
  address, slow the account for other browsers but do not keep the owner out of their own.
  On a new browser during such an attack the owner waits for the window or uses the
  e-mailed reset link, which marks that browser as theirs.
- A completed sign-in forgets that e-mail's failures from that address only. Forgetting the
  address's whole count would let someone holding one account of their own wipe it between
  guesses at other people's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import (
    get_client_parameters,
    get_client_username,
    get_credentials,
    get_failure_limit,
)
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from trellis.accounts.services.auth import record_throttled
from trellis.audit.middleware import client_ip
from trellis.core import timeutil

Stage = Literal["password", "code"]

KNOWN_BROWSER_COOKIE = "trellis_known"
KNOWN_BROWSER_DAYS = 365
KNOWN_BROWSER_ACCOUNTS = 5  # a shared family computer may know a few accounts
_KNOWN_BROWSER_SALT = "trellis.accounts.throttle.known-browser"
MAX_EMAIL_LENGTH = 254

BY_ADDRESS = "ip_address"
BY_ACCOUNT = "username"


def normalized_email(email: str) -> str:
    """The e-mail as the counts key it: trimmed, lower case, at most 254 characters."""
    return (email or "").strip().lower()[:MAX_EMAIL_LENGTH]


def window() -> timedelta:
    """How long a failure counts (django-axes' cool-off)."""
    return timedelta(seconds=int(settings.TRELLIS_SIGNIN_WINDOW_SECONDS))


def failure_limit(request: Any = None, credentials: Any = None) -> int:
    """The number django-axes compares its count with: the limit for one e-mail from one
    address. `SignInThrottleHandler.get_failures` scales the other counts to it."""
    return int(settings.TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS)


def _limit_for(counted_by: frozenset[str]) -> int:
    if counted_by == {BY_ADDRESS}:
        return int(settings.TRELLIS_SIGNIN_FAILURES_PER_ADDRESS)
    if counted_by == {BY_ACCOUNT}:
        return int(settings.TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT)
    return int(settings.TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS)


# ---- The known-browser mark ------------------------------------------------------------


def _mark(email: str) -> str:
    digest = salted_hmac(_KNOWN_BROWSER_SALT, normalized_email(email), algorithm="sha256")
    return digest.hexdigest()[:32]


def _marks(request: HttpRequest) -> list[str]:
    raw = request.COOKIES.get(KNOWN_BROWSER_COOKIE, "")
    if not raw:
        return []
    try:
        marks = signing.loads(
            raw, salt=_KNOWN_BROWSER_SALT, max_age=timedelta(days=KNOWN_BROWSER_DAYS)
        )
    except signing.BadSignature:
        return []
    return [m for m in marks if isinstance(m, str)] if isinstance(marks, list) else []


def is_known_browser(request: HttpRequest, email: str) -> bool:
    """Whether this browser finished signing in to the account with this e-mail before."""
    return bool(email) and _mark(email) in _marks(request)


def remember_browser(request: HttpRequest, response: HttpResponse, email: str) -> None:
    """Mark this browser as one the account's owner uses (after a completed sign-in or a
    reset from the e-mailed link). The mark is a keyed hash: it names no one."""
    mark = _mark(email)
    marks = [mark, *(m for m in _marks(request) if m != mark)][:KNOWN_BROWSER_ACCOUNTS]
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        signing.dumps(marks, salt=_KNOWN_BROWSER_SALT),
        max_age=KNOWN_BROWSER_DAYS * 24 * 60 * 60,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# ---- What django-axes counts, and how far -----------------------------------------------


def lockout_parameters(request: Any, credentials: dict[str, Any] | None) -> list[Any]:
    """The counts that hold an attempt back (django-axes' AXES_LOCKOUT_PARAMETERS).

    From the owner's own browser (it carries the mark for the e-mail typed) only the e-mail
    from this address counts, so neither strangers sharing the address nor strangers
    guessing from elsewhere keep them out. From any other browser the address, the e-mail
    from this address, and the e-mail from anywhere all count.
    """
    pair: list[str] = [BY_ACCOUNT, BY_ADDRESS]
    if isinstance(request, HttpRequest):
        email = get_client_username(request, credentials) or ""
        if is_known_browser(request, email):
            return [pair]
    return [BY_ADDRESS, pair, BY_ACCOUNT]


class SignInThrottleHandler(AxesDatabaseHandler):
    """django-axes' database handler with one limit per count.

    Axes compares a single number with a single limit. Here each count is scaled to that
    limit by its own (`count * compared_with // own_limit` reaches `compared_with` exactly
    when `count` reaches `own_limit`), so a client is held back as soon as any one count
    reaches its own limit.
    """

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        username = get_client_username(request, credentials)
        counted_by = get_client_parameters(
            username, request.axes_ip_address, request.axes_user_agent, request, credentials
        )
        compared_with = get_failure_limit(request, credentials)
        worst = 0
        for filters, attempts in zip(
            counted_by, self.get_user_attempts(request, credentials), strict=True
        ):
            count = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            worst = max(worst, count * compared_with // max(1, _limit_for(frozenset(filters))))
        return worst


# ---- What the sign-in pages ask -------------------------------------------------------------


def client_address(request: HttpRequest) -> str | None:
    """The client's address, behind a trusted proxy the one it saw (the audit trail's rule)."""
    return client_ip(request)


def _credentials(email: str) -> dict[str, Any]:
    return get_credentials(normalized_email(email))


def held_back(request: HttpRequest, email: str, *, stage: Stage) -> bool:
    """Whether an attempt for this e-mail from this client must not be checked at all
    (audited as `auth.throttled` when so)."""
    if AxesProxyHandler.is_allowed(request, _credentials(email)):
        return False
    record_throttled(email=email, now=timeutil.now(), stage=stage)
    return True


def count_failure(request: HttpRequest, email: str, *, stage: Stage) -> bool:
    """Count a wrong password or code for this e-mail from this client (through Django's
    `user_login_failed` signal, which django-axes listens to); True when that reached a limit
    (audited as `auth.throttled` with `started`)."""
    user_login_failed.send(sender=__name__, credentials=_credentials(email), request=request)
    if not getattr(request, "axes_locked_out", False):
        return False
    record_throttled(email=email, now=timeutil.now(), stage=stage, started=True)
    return True


def forget_failures(request: HttpRequest, email: str) -> None:
    """A completed sign-in (or reset): forget this e-mail's failures from this address."""
    AxesProxyHandler.update_request(request)
    address = request.axes_ip_address  # type: ignore[attr-defined]
    if address:  # without an address the reset would reach every address's failures
        AxesProxyHandler.reset_attempts(ip_address=address, username=normalized_email(email))
