"""Canonical form and sealing of audit events and anchors: pure functions, no database.

Each event is sealed as it is written with an HMAC-SHA-256 under an audit key held outside
the database (`seal_row`), over the key's id and the event's canonical content; the sealer
then links it into the chain (`seal_link`), over the previous link's mac, the event's id
and its seal, so nobody without the key can recompute either after changing a row.
Events written by earlier versions were chained as they were written (`seal`, over the
previous event's seal and the content), and those from before the chain was keyed carry a
plain SHA-256 (`link_hash`) and an empty key id.
An anchor (the head's position and seal, written outside the database) is signed with
the same key under its own label (`sign_anchor`), so a row's seal never passes for an
anchor's signature or the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
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
ROW_LABEL = "trellis-audit-row-v1"
OWN_ROW_LABEL = "trellis-audit-row-v2"
LINK_LABEL = "trellis-audit-link-v1"
ANCHOR_LABEL = "trellis-audit-anchor-v1"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if value is None:
        return None
    if isinstance(value, (dict, list, int, float, bool, str)):
        return value
    return str(value)


def chained_fields(event: Any) -> dict[str, Any]:
    """The columns of an event (a model instance or any object with them) that are sealed."""
    return {name: getattr(event, name) for name in CHAINED_FIELDS}


def canonical(fields: Mapping[str, Any]) -> str:
    """The exact text that is sealed: the chained fields as sorted, compact JSON."""
    return json.dumps(
        {name: _plain(fields.get(name)) for name in CHAINED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def link_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 of events written before the chain was keyed (verification only)."""
    return hashlib.sha256(f"{prev_hash}\n{canonical(fields)}".encode()).hexdigest()


def seal(prev_mac: str, fields: Mapping[str, Any], *, key_id: str, key: bytes) -> str:
    """HMAC-SHA-256 under the audit key over its id, the previous seal and this content.

    A pure function of its arguments, so any writer that knows the previous seal can
    compute the next one.
    """
    message = f"{ROW_LABEL}\n{key_id}\n{prev_mac}\n{canonical(fields)}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def seal_row(fields: Mapping[str, Any], *, key_id: str, key: bytes) -> str:
    """An event's own seal, written with it: HMAC-SHA-256 under the audit key over its id
    and the event's content (no previous seal, so writers never wait on one another)."""
    message = f"{OWN_ROW_LABEL}\n{key_id}\n{canonical(fields)}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def seal_link(prev_mac: str, event_pk: int, row_seal: str, *, key_id: str, key: bytes) -> str:
    """A link of the chain: HMAC-SHA-256 under the audit key over its id, the previous
    link's mac, the event's position in the table and the event's own seal."""
    message = f"{LINK_LABEL}\n{key_id}\n{prev_mac}\n{event_pk}\n{row_seal}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign_anchor(payload: Mapping[str, Any], *, key: bytes) -> str:
    """HMAC-SHA-256 under the audit key over an anchor's fields as sorted, compact JSON."""
    body = json.dumps(dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, f"{ANCHOR_LABEL}\n{body}".encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare two seals in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
