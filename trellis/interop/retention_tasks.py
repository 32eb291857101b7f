"""The nightly retention job: erase the records whose clinic's retention time has passed."""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from trellis.core.periodic import periodic
from trellis.interop import retention


@periodic(every=timedelta(days=1))
@task
def apply_retention() -> dict[str, int]:
    """Every night: each clinic erases the patients whose records are past its retention."""
    return retention.apply_retention_everywhere()
