"""Anchors: the audit chain's head, signed and written where the database cannot reach.

An anchor is one JSON line:

    {"at": "2026-03-10T14:00:00.000000Z", "count": 5120, "event": 5123,
     "event_id": "6f1c…", "key_id": "a2026", "mac": "9b0e…", "sig": "41d7…", "v": 1}

`event` is the head event's position in the chain (its id), `event_id` its public id,
`mac` its seal, `count` how many events the chain held up to and including it, `at` when
the anchor was taken; `sig` is an HMAC-SHA-256 under the audit key `key_id` over all the
other fields (trellis.audit.chain.sign_anchor). Lines are only ever appended to the
anchor file (opened in append mode, created readable by its owner only) and also logged,
so a copy reaches wherever the application log is shipped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from trellis.audit.chain import same, sign_anchor
from trellis.audit.keyring import AuditKeyRing

logger = logging.getLogger(__name__)

VERSION = 1
ANCHOR_FILE_MODE = 0o600
LOG_MARK = "audit anchor "
_FIELDS = {"v": int, "event": int, "event_id": str, "mac": str, "count": int, "at": str}


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment, as signed: event position, seal and count."""

    event: int
    event_id: str
    mac: str
    count: int
    at: str
    key_id: str
    sig: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "event": self.event,
            "event_id": self.event_id,
            "mac": self.mac,
            "count": self.count,
            "at": self.at,
            "key_id": self.key_id,
        }

    def line(self) -> str:
        fields = {**self.payload(), "sig": self.sig}
        return json.dumps(fields, sort_keys=True, separators=(",", ":"))

    @property
    def where(self) -> str:
        return f"the anchor of {self.at} (event #{self.event}, {self.count} events in)"


def signed(
    *, event: int, event_id: str, mac: str, count: int, at: datetime, ring: AuditKeyRing
) -> Anchor:
    """An anchor for the given head, signed with the newest audit key."""
    key_id, key = ring.current
    anchor = Anchor(
        event=event,
        event_id=event_id,
        mac=mac,
        count=count,
        at=at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        key_id=key_id,
    )
    return Anchor(**{**anchor.__dict__, "sig": sign_anchor(anchor.payload(), key=key)})


@dataclass
class AnchorRead:
    """What a file held: the anchors whose signature verifies, and every line that failed."""

    anchors: list[Anchor] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read(path: Path, ring: AuditKeyRing, *, from_log: bool = False) -> AnchorRead:
    """Read and check every anchor in `path` (nothing if the file does not exist).

    In the anchor file every non-blank line must be a valid anchor. With `from_log`, the
    file is an application log: only the lines that carry an anchor (`audit anchor {…}`,
    plain or inside a JSON log record) are read, and those must be valid.
    """
    found = AnchorRead()
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, raw in enumerate(lines, start=1):
                text = _anchor_text(raw.strip(), from_log=from_log)
                if text is None:
                    continue
                anchor, problem = _parse(text, ring)
                if anchor is not None:
                    found.anchors.append(anchor)
                else:
                    found.problems.append(f"{path} line {number}: {problem}")
    except FileNotFoundError:
        pass
    return found


def _anchor_text(line: str, *, from_log: bool) -> str | None:
    if not line:
        return None
    if not from_log:
        return line
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if isinstance(record, dict):
        if "sig" in record:
            return line
        line = str(record.get("event", ""))
    at = line.find(LOG_MARK + "{")
    return line[at + len(LOG_MARK) :] if at >= 0 else None


def _parse(text: str, ring: AuditKeyRing) -> tuple[Anchor | None, str]:
    try:
        data = json.loads(text)
    except ValueError:
        return None, "not an anchor (not JSON)"
    if not isinstance(data, dict):
        return None, "not an anchor (not a JSON object)"
    for name, kind in {**_FIELDS, "key_id": str, "sig": str}.items():
        if type(data.get(name)) is not kind:
            return None, f"not an anchor (no {kind.__name__} {name!r})"
    if data["v"] != VERSION:
        return None, f"an anchor of unknown version {data['v']}"
    anchor = Anchor(**{name: data[name] for name in Anchor.__dataclass_fields__})
    if not ring.holds(anchor.key_id):
        return None, (
            f"signed with audit key {anchor.key_id!r}, which TRELLIS_AUDIT_KEYS does not hold"
        )
    expected = sign_anchor(anchor.payload(), key=ring.key(anchor.key_id))
    if not same(expected, anchor.sig):
        return None, "its signature does not verify (the anchor was forged or altered)"
    return anchor, ""


def append(path: Path, anchor: Anchor) -> None:
    """Add one line to the anchor file, creating it with mode 0600 if it is missing.

    The file is only ever opened for appending (never truncated or rewritten), and the
    whole line goes down in one write, so it also works on a file the operator has made
    append-only (`chattr +a`) or a write-once mount.
    """
    data = (anchor.line() + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, ANCHOR_FILE_MODE)
    except FileExistsError:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    else:
        # The umask may have taken bits away, never added them; set exactly 0600.
        os.fchmod(fd, ANCHOR_FILE_MODE)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"only {written} of {len(data)} bytes of the anchor reached {path}")
        os.fsync(fd)
    finally:
        os.close(fd)


def log(anchor: Anchor) -> None:
    """The same line in the application log, for a copy beyond this machine."""
    logger.info("%s%s", LOG_MARK, anchor.line())


def latest(anchors: Iterable[Anchor]) -> Anchor | None:
    """The anchor furthest along the chain (the newest when two name the same event)."""
    return max(anchors, key=lambda a: (a.event, a.at), default=None)
