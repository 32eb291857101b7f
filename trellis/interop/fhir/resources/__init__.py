"""Trellis's records as FHIR R4 resources (JSON dictionaries).

The builders here are pure: each takes rows already read (with what they point at) and
returns one resource, so a page of 200 results, a bulk export and a patient's own download
all make the same resources without a query per row. Which rows to read, for whom, is
`interop.fhir.sources`' work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def instant(moment: datetime) -> str:
    """An aware datetime as a FHIR instant in UTC ("2026-03-02T15:00:00Z")."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ref(resource_type: str, ident: Any, display: str = "") -> dict[str, str]:
    found = {"reference": f"{resource_type}/{ident}"}
    if display:
        found["display"] = display
    return found


def meta(updated_at: datetime | None, *profiles: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if updated_at is not None:
        found["lastUpdated"] = instant(updated_at)
    if profiles:
        found["profile"] = list(profiles)
    return found


def coding(system: str, code: str, display: str = "") -> dict[str, str]:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(system: str, code: str, display: str = "", text: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"coding": [coding(system, code, display)]}
    if text or display:
        found["text"] = text or display
    return found
