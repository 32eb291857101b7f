"""Which keys a backup needs, without ever putting a key in it.

The archive names the data keys its encrypted values are under (found in the database
itself) and every configured audit key (events and anchors sealed with any of them stay
in the trail for good), each with a short fingerprint: a SHA-256 of the key under a fixed
label, which tells a right key from a wrong one with the same id and reveals nothing about
a random 256-bit key. A restore refuses an environment that lacks one of them, so a
backup alone, without the keys kept elsewhere, never yields anyone's free text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from trellis.core import crypto
from trellis.core.fields import encrypted_fields

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

DATA = "TRELLIS_DATA_KEYS"
AUDIT = "TRELLIS_AUDIT_KEYS"


def key_pairs(spec: str) -> dict[str, bytes | None]:
    """The ids of a key setting ("id:base64,..."), each with its bytes (None if they do not
    decode). Only for naming and fingerprinting: `trellis check` judges the keys themselves."""
    pairs: dict[str, bytes | None] = {}
    for chunk in (c.strip() for c in spec.split(",")):
        kid, sep, encoded = chunk.partition(":")
        if not chunk or not sep:
            continue
        try:
            pairs[kid] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            pairs[kid] = None
    return pairs


def fingerprint(key: bytes | None) -> str | None:
    if key is None:
        return None
    return hashlib.sha256(b"trellis backup key check\x00" + key).hexdigest()[:16]


def _like(prefix: str) -> str:
    escaped = prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "%"


def data_key_ids_in_use(query: Query) -> set[str]:
    """Every key id some stored encrypted value is under: per encrypted column, one query
    for a value under a key not found yet, until there is none (a query per key in use)."""
    found: set[str] = set()
    for f in encrypted_fields():
        # The table and column come from the models; values go only through parameters.
        column = f'"{f.column}"'
        where = [f"{column} LIKE %s ESCAPE '!'"]
        params = [_like(crypto.PREFIX)]
        for known in sorted(found):
            where.append(f"{column} NOT LIKE %s ESCAPE '!'")
            params.append(_like(f"{crypto.PREFIX}{known}:"))
        while True:
            table = f'"{f.model._meta.db_table}"'
            sql = f"SELECT {column} FROM {table} WHERE {' AND '.join(where)} LIMIT 1"  # noqa: S608
            rows = query(sql, params)
            kid = crypto.key_id_of(rows[0][0]) if rows else None
            if kid is None:
                break
            found.add(kid)
            where.append(f"{column} NOT LIKE %s ESCAPE '!'")
            params.append(_like(f"{crypto.PREFIX}{kid}:"))
    return found


def needed_keys(data_ids: set[str], data_spec: str, audit_spec: str) -> dict[str, Any]:
    """The manifest's "keys": the data keys in use and every audit key, by id and fingerprint."""
    data, audit = key_pairs(data_spec), key_pairs(audit_spec)
    return {
        "data": [
            {"id": kid, "fingerprint": fingerprint(data.get(kid))} for kid in sorted(data_ids)
        ],
        "audit": [{"id": kid, "fingerprint": fingerprint(key)} for kid, key in audit.items()],
    }


def unconfigured(data_ids: set[str], data_spec: str) -> list[str]:
    """Data keys the database holds values under that this environment lacks."""
    return sorted(data_ids - set(key_pairs(data_spec)))


def missing(keys: dict[str, Any], data_spec: str, audit_spec: str) -> list[str]:
    """What the environment lacks for this backup's keys: one sentence per key."""
    problems: list[str] = []
    for setting, spec, entries in (
        (DATA, data_spec, keys.get("data", [])),
        (AUDIT, audit_spec, keys.get("audit", [])),
    ):
        have = key_pairs(spec)
        for entry in entries:
            kid, want = entry.get("id"), entry.get("fingerprint")
            if kid not in have:
                problems.append(f"{setting} lacks the key {kid!r}")
            elif want is not None and fingerprint(have[kid]) != want:
                problems.append(
                    f"{setting} has a key {kid!r}, but not the one the backup was made with"
                )
    return problems


def keys_file(data_spec: str, audit_spec: str, *, backup_name: str, created: str) -> str:
    """The text `--keys-out` writes: the two key settings as environment lines."""
    return (
        f"# The keys for the Trellis backup {backup_name} ({created}).\n"
        "# Keep this file apart from the backup: together they reveal every patient's free text.\n"
        f"{DATA}={data_spec}\n"
        f"{AUDIT}={audit_spec}\n"
    )
