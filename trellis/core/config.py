"""Parsing of environment variables into typed settings values."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no variable; an unrecognised value is an error, not a silent default."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RuntimeError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number; got {raw!r}") from None


def mailers_from_url(url: str, *, base: Path | None = None) -> dict[str, Any]:
    """Turn EMAIL_URL into Django's MAILERS setting.

    smtp://user:password@host:port?tls=1 (STARTTLS) or smtps://... (implicit TLS),
    console:// (print to the terminal), memory:// (kept in memory, for tests),
    file://FOLDER (each e-mail written to a file in FOLDER; a relative FOLDER is under
    `base`, Trellis's var directory: the demo writes to file://outbox/email).
    An empty URL sends nothing, which `trellis check` reports in production.
    """
    backends = "django.core.mail.backends."
    if not url:
        return {"default": {"BACKEND": backends + "dummy.EmailBackend"}}
    if url.lower().startswith("file://"):
        folder = Path(unquote(url[len("file://") :]))
        if not folder.is_absolute():
            folder = (base or Path.cwd()) / folder
        return {
            "default": {
                "BACKEND": backends + "filebased.EmailBackend",
                "OPTIONS": {"file_path": str(folder)},
            }
        }
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "console":
        return {"default": {"BACKEND": backends + "console.EmailBackend"}}
    if scheme == "memory":
        return {"default": {"BACKEND": backends + "locmem.EmailBackend"}}
    if scheme not in {"smtp", "smtps"}:
        raise RuntimeError(
            f"EMAIL_URL must start with smtp://, smtps://, console:// or file://; got {scheme}://"
        )
    query = parse_qs(parsed.query)
    return {
        "default": {
            "BACKEND": backends + "smtp.EmailBackend",
            "OPTIONS": {
                "host": parsed.hostname or "localhost",
                "port": parsed.port or (465 if scheme == "smtps" else 25),
                "username": unquote(parsed.username or "") or None,
                "password": unquote(parsed.password or "") or None,
                "use_ssl": scheme == "smtps",
                "use_tls": query.get("tls", ["0"])[0].lower() in _TRUE,
                "timeout": 10,
            },
        }
    }


def tasks_from_env(backend: str, *, broker_url: str, visibility_timeout: int) -> dict[str, Any]:
    """Turn TRELLIS_TASK_BACKEND into Django's TASKS setting.

    `database` (the default): django-tasks-db, the queue is a table of the database.
    `celery`: the distributed queue, Celery on the broker at `broker_url` (Redis or
    RabbitMQ); see docs/nudges-worker.md.
    """
    choice = (backend or "database").strip().lower()
    if choice == "database":
        return {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    if choice != "celery":
        raise RuntimeError(f"TRELLIS_TASK_BACKEND must be database or celery; got {backend!r}")
    scheme = urlparse(broker_url).scheme.lower()
    if scheme not in {"redis", "rediss", "amqp", "amqps", "pyamqp"}:
        raise RuntimeError(
            "TRELLIS_TASK_BACKEND=celery needs TRELLIS_BROKER_URL (or REDIS_URL) of a Redis "
            f"(redis://) or RabbitMQ (amqp://) broker; got {broker_url!r}"
        )
    return {
        "default": {
            "BACKEND": "trellis.core.celery_backend.CeleryBackend",
            "OPTIONS": {"BROKER_URL": broker_url, "VISIBILITY_TIMEOUT": visibility_timeout},
        }
    }
