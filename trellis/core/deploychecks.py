"""The deployment self-check behind `trellis check`: a small registry of check functions.

Each check looks at the settings (never at the network) and returns findings: an
error blocks a production start, a warning is worth fixing. Apps add their own
checks with `@deploy_check`, for example "an on-call clinician is configured".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from trellis.core import crypto


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: what is wrong and how to put it right."""

    level: Level
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.message}: {self.fix}" if self.fix else self.message


Check = Callable[[], Iterable[Finding]]
_checks: list[Check] = []

# How to make a good secret key, shown to operators.
KEY_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(64))"'
PLACEHOLDER_WORDS = ("insecure", "change-me", "changeme", "replace-me", "example")


def deploy_check(check: Check) -> Check:
    """Register a check; it runs on every `trellis check`."""
    if check not in _checks:
        _checks.append(check)
    return check


def registered() -> list[Check]:
    return list(_checks)


def run(checks: Iterable[Check] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for check in registered() if checks is None else checks:
        try:
            findings.extend(check())
        except Exception as exc:  # a broken check must not hide the others' findings
            findings.append(Finding(Level.ERROR, f"The check {check.__name__} failed: {exc}"))
    return findings


def _error(message: str, fix: str = "") -> Finding:
    return Finding(Level.ERROR, message, fix)


def _warning(message: str, fix: str = "") -> Finding:
    return Finding(Level.WARNING, message, fix)


@deploy_check
def debug_off() -> Iterable[Finding]:
    if settings.DEBUG:
        yield _error(
            "DEBUG is on",
            "unset TRELLIS_DEBUG (or set it to 0); debug pages expose settings and data",
        )


@deploy_check
def secret_key() -> Iterable[Finding]:
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:
        key = ""
    if not key:
        yield _error(
            "TRELLIS_SECRET_KEY is missing", f"set it to a long random value ({KEY_RECIPE})"
        )
    elif key == settings.DEV_SECRET_KEY or any(w in key.lower() for w in PLACEHOLDER_WORDS):
        yield _error(
            "TRELLIS_SECRET_KEY is a placeholder or the development key",
            f"set a new long random value ({KEY_RECIPE})",
        )
    elif len(key) < 50 or len(set(key)) < 5:
        yield _error(
            "TRELLIS_SECRET_KEY is too short or too simple (it needs 50 or more varied characters)",
            f"set a long random value ({KEY_RECIPE})",
        )


@deploy_check
def data_keys() -> Iterable[Finding]:
    spec = settings.TRELLIS_DATA_KEYS
    fix = "generate one with `trellis keys generate` and set TRELLIS_DATA_KEYS=id:key"
    if not spec:
        yield _error("TRELLIS_DATA_KEYS is missing (free text cannot be encrypted)", fix)
        return
    if spec == settings.DEV_DATA_KEYS:
        yield _error("TRELLIS_DATA_KEYS is the public development key", fix)
        return
    try:
        ring = crypto.parse_keys(spec)
    except crypto.KeyConfigurationError as exc:
        yield _error(f"TRELLIS_DATA_KEYS cannot be read ({exc})", fix)
        return
    dev_ids = {kid for kid, _ in crypto.parse_keys(settings.DEV_DATA_KEYS).keys}
    dev_keys = {key for _, key in crypto.parse_keys(settings.DEV_DATA_KEYS).keys}
    if any(key in dev_keys for _, key in ring.keys):
        yield _error("TRELLIS_DATA_KEYS contains the public development key", fix)
    elif ring.current_id in dev_ids:
        yield _warning(f"the newest data key uses the development key id {ring.current_id!r}")


@deploy_check
def email() -> Iterable[Finding]:
    url = settings.EMAIL_URL
    fix = "set EMAIL_URL=smtp://user:password@mail.example.org:587?tls=1 (or smtps://...)"
    if not url:
        yield _error("EMAIL_URL is missing (invitations and password resets cannot be sent)", fix)
    elif url.split(":", 1)[0].lower() in {"console", "memory"}:
        yield _error("EMAIL_URL prints or keeps mail instead of sending it", fix)


@deploy_check
def database() -> Iterable[Finding]:
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("sqlite3"):
        yield _warning(
            "the database is SQLite",
            "fine for one small clinic on one machine; use PostgreSQL "
            "(DATABASE_URL=postgres://...) for more, and for the append-only audit trigger",
        )


@deploy_check
def cookies_and_hsts() -> Iterable[Finding]:
    if not settings.SESSION_COOKIE_SECURE:
        yield _error(
            "session cookies may be sent without TLS (SESSION_COOKIE_SECURE is off)",
            "serve over HTTPS and unset TRELLIS_SECURE_COOKIES=0",
        )
    if not settings.CSRF_COOKIE_SECURE:
        yield _error(
            "CSRF cookies may be sent without TLS (CSRF_COOKIE_SECURE is off)",
            "serve over HTTPS and unset TRELLIS_SECURE_COOKIES=0",
        )
    if not settings.SECURE_HSTS_SECONDS:
        yield _error(
            "HSTS is off (browsers may fall back to plain HTTP)",
            "unset TRELLIS_HSTS_SECONDS=0 (the production default is one year)",
        )


@deploy_check
def allowed_hosts() -> Iterable[Finding]:
    hosts = settings.ALLOWED_HOSTS
    if not hosts:
        yield _error(
            "TRELLIS_ALLOWED_HOSTS is empty (every request would be refused)",
            "set it to the clinic's host names, e.g. TRELLIS_ALLOWED_HOSTS=trellis.example.org",
        )
    elif "*" in hosts:
        yield _error(
            "TRELLIS_ALLOWED_HOSTS allows any host", "list the clinic's host names instead"
        )


# Django's own deployment checks that the checks above already report in clinic words.
COVERED_DJANGO_CHECKS = frozenset(
    {
        "security.W004",  # HSTS
        "security.W009",  # SECRET_KEY
        "security.W012",  # SESSION_COOKIE_SECURE
        "security.W016",  # CSRF_COOKIE_SECURE
        "security.W018",  # DEBUG
        "security.W020",  # ALLOWED_HOSTS
        "mail.E001",  # EMAIL_URL
    }
)


def django_system_checks(*, deploy: bool) -> list[Finding]:
    """Django's system checks (with its deployment checks in production), as findings."""
    from django.core import checks

    messages: list[Any] = checks.run_checks(include_deployment_checks=deploy)
    findings = []
    for message in messages:
        if message.is_silenced() or message.id in COVERED_DJANGO_CHECKS:
            continue
        level = Level.ERROR if message.is_serious() else Level.WARNING
        text = f"{message.id}: {message.msg}"
        findings.append(Finding(level, text, str(message.hint or "")))
    return findings
