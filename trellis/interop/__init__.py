"""Connecting to the clinic's systems and honouring patients' rights.

FHIR R4 read and search (`fhir/`), Bulk Data export, SMART Backend Services for
system-to-system access, referrals in, the patient's own record with amendments and the
accounting of disclosures, retention and erasure, and the de-identified research export.
It stands above every clinical app because it reads (and, for erasure, removes) what they
all keep; only the demo stands above it (docs/architecture.md).
"""
