"""Disclosures: patient data that left Trellis for another system.

Every FHIR read or search answered for a backend client, and every bulk export, writes one
audit event per patient whose data it carried, named by the client (never a token). The
patient's accounting of disclosures (HIPAA §164.528) is read back from exactly these
events, so there is one place that writes them and one list of their actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trellis.audit import services as audit
from trellis.interop.models import BackendClient

FHIR_READ = "fhir.read"  # a read or a search answered through /fhir/R4
FHIR_EXPORT = "fhir.export"  # a Bulk Data export whose files carried the patient's data
RECORD_EXPORT = "record.export"  # the patient downloaded their own record (not a disclosure)

DISCLOSURES = (FHIR_READ, FHIR_EXPORT)


def note_disclosure(
    *,
    client: BackendClient,
    action: str,
    patient_ids: Iterable[Any],
    details: Mapping[str, Any] | None = None,
) -> int:
    """One audit event per patient, inside the caller's transaction; returns how many."""
    if action not in DISCLOSURES:
        raise ValueError(f"A disclosure is one of {DISCLOSURES}, not {action!r}.")
    written = 0
    for patient_id in sorted({str(p) for p in patient_ids}):
        audit.record(
            action=action,
            actor_label=f"{client.name} ({client.client_id})",
            object_type="interop.backendclient",
            object_id=str(client.pk),
            patient=patient_id,
            organization=client.organization_id,
            details={**(details or {}), "client": client.name, "client_id": client.client_id},
        )
        written += 1
    return written
