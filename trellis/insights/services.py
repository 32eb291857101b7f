"""What the insights app writes on a person's behalf: the audit row of a report taken away."""

from __future__ import annotations

from django.db import transaction

from trellis import audit
from trellis.accounts.models import Organization, User


def record_report_export(
    clinic: Organization, *, actor: User, report: str, fmt: str, rows: int, deidentified: bool
) -> None:
    """A report downloaded as CSV or read through the API, in the audit trail: who, which
    clinic, which report, the format, the rows, and whether it was de-identified."""
    with transaction.atomic():
        audit.record(
            action="insights.report_export",
            actor=actor,
            organization=clinic,
            details={
                "report": report,
                "format": fmt,
                "rows": rows,
                "deidentified": deidentified,
            },
        )
