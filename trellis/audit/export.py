"""Audit events as CSV rows, shared by the web export and `trellis audit report --csv`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from trellis.audit.models import AuditEvent

COLUMNS = (
    "id",
    "event_id",
    "occurred_at_utc",
    "actor_id",
    "actor",
    "organization_id",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "ip",
    "user_agent",
    "details",
    "hash",
)

# A cell starting with one of these is a formula in spreadsheet programs; an
# exported user agent or detail must never run as one on an auditor's machine.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def row(event: AuditEvent) -> list[str]:
    values: list[object] = [
        event.pk,
        event.event_id,
        event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        event.actor_id,
        event.actor_label,
        event.organization_id,
        event.action,
        event.object_type,
        event.object_id,
        event.patient_id,
        event.ip,
        event.user_agent,
        json.dumps(event.details, sort_keys=True, ensure_ascii=False),
        event.hash,
    ]
    return [_cell(v) for v in values]


class _Echo:
    """A file-like object whose write returns the line, for streaming."""

    def write(self, value: str) -> str:
        return value


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """The header line, then one CSV line per event, produced lazily."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for event in events:
        yield writer.writerow(row(event))
