"""Starting and cancelling a Bulk Data export, and reading one back for its client.

`start_export` records the job with its audit row and enqueues the worker's task once the
transaction commits (a rolled-back kick-off enqueues nothing). `cancel_export` stops a job
and removes its files after commit. A job belongs to the client that asked for it: any
other caller, of this clinic or another, finds nothing (`access_job` is None).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from trellis.audit import services as audit
from trellis.interop.bulk import files
from trellis.interop.bulk.params import ExportRequest
from trellis.interop.caller import Caller
from trellis.interop.models import ExportJob, ExportLevel, ExportStatus
from trellis.interop.tasks import run_export

EXPORT_STARTED = "fhir.export.start"
EXPORT_CANCELLED = "fhir.export.cancel"
EXPORT_DOWNLOADED = "fhir.export.download"


@transaction.atomic
def start_export(
    *,
    caller: Caller,
    level: ExportLevel,
    request_url: str,
    export: ExportRequest,
    group_id: str = "",
) -> ExportJob:
    """Record an export asked for by a backend client and hand it to the worker."""
    job = ExportJob.objects.create(
        organization=caller.organization,
        client=caller.client,
        level=level,
        group_id=group_id,
        types=list(export.types),
        since=export.since,
        request_url=request_url[:2000],
        status=ExportStatus.ACCEPTED,
        progress="waiting for a worker",
    )
    audit.record(
        action=EXPORT_STARTED,
        actor_label=caller.label,
        subject=job,
        organization=caller.organization.pk,
        details={
            "job": str(job.pk),
            "client": caller.client.name,
            "client_id": caller.client.client_id,
            "level": level,
            "group": group_id,
            "types": list(export.types),
            "since": export.since.isoformat() if export.since else None,
        },
    )
    job_id = str(job.pk)
    transaction.on_commit(lambda: run_export.enqueue(job_id))
    return job


def access_job(caller: Caller, job_id: Any) -> ExportJob | None:
    """The caller's own export with this id, or None (another client's is None too)."""
    return ExportJob.objects.filter(pk=job_id, client=caller.client).first()


@transaction.atomic
def cancel_export(job: ExportJob, *, caller: Caller) -> bool:
    """Cancel an export (running or finished) and remove its files; False if it was
    already cancelled or expired."""
    current = ExportJob.objects.select_for_update().get(pk=job.pk)
    if current.status in (ExportStatus.CANCELLED, ExportStatus.EXPIRED):
        return False
    before = current.status
    current.status = ExportStatus.CANCELLED
    current.progress = "cancelled"
    current.output = []
    current.save(update_fields=["status", "progress", "output", "updated_at"])
    audit.record(
        action=EXPORT_CANCELLED,
        actor_label=caller.label,
        subject=current,
        organization=current.organization_id,
        details={"job": str(current.pk), "was": before},
    )
    job_id = current.pk
    transaction.on_commit(lambda: files.remove(job_id))
    return True


@transaction.atomic
def note_download(job: ExportJob, *, caller: Caller, resource_type: str) -> None:
    """A file of the export was fetched (the disclosure itself was noted when the export
    completed; this says when its data actually left)."""
    audit.record(
        action=EXPORT_DOWNLOADED,
        actor_label=caller.label,
        subject=job,
        organization=job.organization_id,
        details={"job": str(job.pk), "type": resource_type},
    )
