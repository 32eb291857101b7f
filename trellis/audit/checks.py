"""The deployment checks of the audit trail, run by `trellis check`.

The chain is sealed with TRELLIS_AUDIT_KEYS: in production it must hold a key of the
clinic's own (never the public development key), and the anchor file must be writable,
or the clock's hourly anchors fail. Both look at the settings and the file system only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from trellis.audit.keyring import AuditKeyError, parse_audit_keys
from trellis.core import crypto
from trellis.core.checks import TRELLIS

AUDIT_KEYS_FIX = (
    "generate one with `trellis keys generate --id a1` (not one of the data keys) and set "
    "TRELLIS_AUDIT_KEYS=id:key; keep every older audit key listed after it"
)
ANCHOR_FILE_FIX = (
    "set TRELLIS_AUDIT_ANCHOR_FILE to a file in a folder the Trellis user can write to, "
    "ideally on append-only storage"
)


@register(Tags.security, TRELLIS, deploy=True)
def audit_keys(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    spec = settings.TRELLIS_AUDIT_KEYS
    if not spec:
        return [
            Error(
                "TRELLIS_AUDIT_KEYS is missing (audit events cannot be sealed)",
                hint=AUDIT_KEYS_FIX,
                id="audit.E001",
            )
        ]
    if spec == settings.DEV_AUDIT_KEYS:
        return [
            Error(
                "TRELLIS_AUDIT_KEYS is the public development key",
                hint=AUDIT_KEYS_FIX,
                id="audit.E002",
            )
        ]
    try:
        ring = parse_audit_keys(spec)
    except AuditKeyError as exc:
        return [
            Error(
                f"TRELLIS_AUDIT_KEYS cannot be read ({exc})", hint=AUDIT_KEYS_FIX, id="audit.E003"
            )
        ]
    dev_keys = {key for _, key in parse_audit_keys(settings.DEV_AUDIT_KEYS).keys}
    if ring.current[1] in dev_keys:
        return [
            Error(
                "the newest key in TRELLIS_AUDIT_KEYS is the public development key",
                hint=AUDIT_KEYS_FIX,
                id="audit.E002",
            )
        ]
    try:
        data_keys = {key for _, key in crypto.parse_keys(settings.TRELLIS_DATA_KEYS).keys}
    except crypto.KeyConfigurationError:
        data_keys = set()  # the data key check reports it
    if any(key in data_keys for _, key in ring.keys):
        return [
            Warning(
                "an audit key is also a data key",
                hint="seal the audit trail with a key of its own: " + AUDIT_KEYS_FIX,
                id="audit.W001",
            )
        ]
    return []


@register(Tags.security, TRELLIS, deploy=True)
def audit_anchor_file(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    path = Path(settings.TRELLIS_AUDIT_ANCHOR_FILE)
    if not path.parent.is_dir():
        return [
            Error(
                f"the folder of the audit anchor file ({path.parent}) does not exist",
                hint=ANCHOR_FILE_FIX,
                id="audit.E004",
            )
        ]
    if path.exists():
        writable = path.is_file() and os.access(path, os.W_OK)
    else:
        writable = os.access(path.parent, os.W_OK | os.X_OK)
    if not writable:
        return [
            Error(
                f"the audit anchor file {path} cannot be written by this user",
                hint=ANCHOR_FILE_FIX,
                id="audit.E005",
            )
        ]
    return []
