"""API token secrets: generated once, stored only as SHA-256, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "trl_"  # noqa: S105  (a label, not a secret)


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """The first characters, kept in clear so an admin can tell tokens apart."""
    return secret[: len(TOKEN_PREFIX) + 6]
