"""Canonical form and hashing of audit events: pure functions, no database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

CHAINED_FIELDS = (
    "event_id",
    "occurred_at",
    "actor_id",
    "actor_label",
    "organization_id",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "ip",
    "user_agent",
    "details",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if value is None:
        return None
    if isinstance(value, (dict, list, int, float, bool, str)):
        return value
    return str(value)


def canonical(fields: Mapping[str, Any]) -> str:
    """The exact text that is hashed: the chained fields as sorted, compact JSON."""
    return json.dumps(
        {name: _plain(fields.get(name)) for name in CHAINED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def link_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 over the previous row's hash and this row's canonical content."""
    return hashlib.sha256(f"{prev_hash}\n{canonical(fields)}".encode()).hexdigest()
