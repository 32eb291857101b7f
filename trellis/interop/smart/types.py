"""The resource types a backend client may be given read scopes for: every type the FHIR
server can export (`trellis.interop.fhir.export.EXPORT_TYPES`)."""

from __future__ import annotations

from trellis.interop.fhir.export import EXPORT_TYPES


def readable_types() -> list[str]:
    return sorted(EXPORT_TYPES)
