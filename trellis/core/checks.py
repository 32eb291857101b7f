"""Deployment checks: is this configuration safe to run a clinic on?

Each check is one of Django's system checks, registered as a deployment check, so it
runs with `trellis check` (and `trellis django-check --deploy`) but not before every
command. A check looks at the settings (never at the network) and returns an error that
blocks a production start, or a warning worth fixing; the hint says how to put it right.
Other apps register their own the same way (the safety set-up check reads the database,
so it also takes Django's `databases` argument).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from trellis.core import crypto

# Every Trellis check also carries this tag: `trellis django-check --deploy --tag trellis`.
TRELLIS = "trellis"

# How to make a good secret key, shown to operators.
KEY_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(64))"'
PLACEHOLDER_WORDS = ("insecure", "change-me", "changeme", "replace-me", "example")
DATA_KEYS_FIX = "generate one with `trellis keys generate` and set TRELLIS_DATA_KEYS=id:key"
EMAIL_FIX = "set EMAIL_URL=smtp://user:password@mail.example.org:587?tls=1 (or smtps://...)"
COOKIES_FIX = "serve over HTTPS and unset TRELLIS_SECURE_COOKIES=0"

AppConfigs = Sequence[AppConfig] | None


@register(Tags.security, TRELLIS, deploy=True)
def debug_off(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG:
        return [
            Error(
                "DEBUG is on",
                hint="unset TRELLIS_DEBUG (or set it to 0); debug pages expose settings and data",
                id="trellis.E001",
            )
        ]
    return []


@register(Tags.security, TRELLIS, deploy=True)
def secret_key(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:
        key = ""
    if not key:
        return [
            Error(
                "TRELLIS_SECRET_KEY is missing",
                hint=f"set it to a long random value ({KEY_RECIPE})",
                id="trellis.E002",
            )
        ]
    if key == settings.DEV_SECRET_KEY or any(w in key.lower() for w in PLACEHOLDER_WORDS):
        return [
            Error(
                "TRELLIS_SECRET_KEY is a placeholder or the development key",
                hint=f"set a new long random value ({KEY_RECIPE})",
                id="trellis.E003",
            )
        ]
    if len(key) < 50 or len(set(key)) < 5:
        return [
            Error(
                "TRELLIS_SECRET_KEY is too short or too simple "
                "(it needs 50 or more varied characters)",
                hint=f"set a long random value ({KEY_RECIPE})",
                id="trellis.E004",
            )
        ]
    return []


@register(Tags.security, TRELLIS, deploy=True)
def data_keys(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    spec = settings.TRELLIS_DATA_KEYS
    if not spec:
        return [
            Error(
                "TRELLIS_DATA_KEYS is missing (free text cannot be encrypted)",
                hint=DATA_KEYS_FIX,
                id="trellis.E005",
            )
        ]
    if spec == settings.DEV_DATA_KEYS:
        return [
            Error(
                "TRELLIS_DATA_KEYS is the public development key",
                hint=DATA_KEYS_FIX,
                id="trellis.E006",
            )
        ]
    try:
        ring = crypto.parse_keys(spec)
    except crypto.KeyConfigurationError as exc:
        return [
            Error(
                f"TRELLIS_DATA_KEYS cannot be read ({exc})", hint=DATA_KEYS_FIX, id="trellis.E007"
            )
        ]
    dev_ids = {kid for kid, _ in crypto.parse_keys(settings.DEV_DATA_KEYS).keys}
    dev_keys = {key for _, key in crypto.parse_keys(settings.DEV_DATA_KEYS).keys}
    if any(key in dev_keys for _, key in ring.keys):
        return [
            Error(
                "TRELLIS_DATA_KEYS contains the public development key",
                hint=DATA_KEYS_FIX,
                id="trellis.E008",
            )
        ]
    if ring.current_id in dev_ids:
        return [
            Warning(
                f"the newest data key uses the development key id {ring.current_id!r}",
                id="trellis.W001",
            )
        ]
    return []


@register(Tags.mail, TRELLIS, deploy=True)
def email(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    url = settings.EMAIL_URL
    if not url:
        return [
            Error(
                "EMAIL_URL is missing (invitations and password resets cannot be sent)",
                hint=EMAIL_FIX,
                id="trellis.E009",
            )
        ]
    if url.split(":", 1)[0].lower() in {"console", "memory"}:
        return [
            Error(
                "EMAIL_URL prints or keeps mail instead of sending it",
                hint=EMAIL_FIX,
                id="trellis.E010",
            )
        ]
    return []


# Not tagged `database`: it reads the settings only, so it runs without a database alias.
@register(TRELLIS, deploy=True)
def database(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return [
            Warning(
                "the database is SQLite",
                hint="fine for one small clinic on one machine; use PostgreSQL "
                "(DATABASE_URL=postgres://...) for more, and for the append-only audit trigger",
                id="trellis.W002",
            )
        ]
    return []


@register(Tags.security, TRELLIS, deploy=True)
def cookies_and_hsts(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if not settings.SESSION_COOKIE_SECURE:
        problems.append(
            Error(
                "session cookies may be sent without TLS (SESSION_COOKIE_SECURE is off)",
                hint=COOKIES_FIX,
                id="trellis.E011",
            )
        )
    if not settings.CSRF_COOKIE_SECURE:
        problems.append(
            Error(
                "CSRF cookies may be sent without TLS (CSRF_COOKIE_SECURE is off)",
                hint=COOKIES_FIX,
                id="trellis.E012",
            )
        )
    if not settings.SECURE_HSTS_SECONDS:
        problems.append(
            Error(
                "HSTS is off (browsers may fall back to plain HTTP)",
                hint="unset TRELLIS_HSTS_SECONDS=0 (the production default is one year)",
                id="trellis.E013",
            )
        )
    return problems


@register(Tags.security, TRELLIS, deploy=True)
def allowed_hosts(app_configs: AppConfigs = None, **kwargs: Any) -> list[CheckMessage]:
    hosts = settings.ALLOWED_HOSTS
    if not hosts:
        return [
            Error(
                "TRELLIS_ALLOWED_HOSTS is empty (every request would be refused)",
                hint="set it to the clinic's host names, "
                "e.g. TRELLIS_ALLOWED_HOSTS=trellis.example.org",
                id="trellis.E014",
            )
        ]
    if "*" in hosts:
        return [
            Error(
                "TRELLIS_ALLOWED_HOSTS allows any host",
                hint="list the clinic's host names instead",
                id="trellis.E015",
            )
        ]
    return []
