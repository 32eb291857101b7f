"""What the worker does with an export, and what the clock cleans up.

`run(job_id)` claims an accepted job, writes one NDJSON file per resource type (a type
with nothing to export gets no file, as the Bulk Data IG asks), updates the job's
progress after each, and completes it: the manifest's entries, the time its files expire,
and one disclosure per patient whose data went into the files, all in one transaction.

Nothing half-written is ever presented as an export. Each file is written under a hidden
`.part` name, synced, and renamed when whole. If writing fails (a full disk, a folder that
cannot be written), every file of the job is removed and the job fails with a message
saying why. A job cancelled while it runs stops before its next type, and its files are
removed. A worker that dies mid-job leaves the job running with no progress; the clock
fails such a job after STALLED_AFTER, and removes its files.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from trellis.audit import services as audit
from trellis.core import timeutil
from trellis.core.dbrouter import reading_from_replica
from trellis.core.files import open_private, private_dir
from trellis.interop.bulk import files
from trellis.interop.disclosures import FHIR_EXPORT, note_disclosure
from trellis.interop.fhir.export import iter_resources, patient_ids_in_group
from trellis.interop.models import ExportJob, ExportLevel, ExportStatus

logger = logging.getLogger(__name__)

EXPORT_COMPLETED = "fhir.export.complete"
EXPORT_FAILED = "fhir.export.fail"
EXPORT_EXPIRED = "fhir.export.expire"
STALLED_AFTER = timedelta(hours=1)
DEFAULT_KEEP_HOURS = 24


class _Cancelled(Exception):
    pass


class _GroupGone(Exception):
    pass


def keep_for() -> timedelta:
    return timedelta(hours=int(getattr(settings, "TRELLIS_EXPORT_KEEP_HOURS", DEFAULT_KEEP_HOURS)))


def patient_ids_in(resource: dict[str, Any]) -> set[str]:
    """The patients a resource is about or names: a Patient's own id, and every
    `Patient/<id>` reference anywhere in it (subject, participants, a Group's members)."""
    found: set[str] = set()
    if resource.get("resourceType") == "Patient" and resource.get("id"):
        found.add(str(resource["id"]))

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "reference" and isinstance(inner, str) and inner.startswith("Patient/"):
                    yield inner.removeprefix("Patient/")
                else:
                    yield from walk(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from walk(inner)

    found.update(walk(resource))
    return found


def _label(job: ExportJob) -> str:
    if job.client is None:
        return "bulk export"
    return f"{job.client.name} ({job.client.client_id})"


def run(job_id: str) -> str:
    """Write an accepted export's files and complete it; the job's status at the end."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update(of=("self",))
            .select_related("client", "organization")
            .filter(pk=job_id)
            .first()
        )
        if job is None:
            return "missing"
        if job.status != ExportStatus.ACCEPTED:
            return str(job.status)
        job.status = ExportStatus.RUNNING
        job.transaction_time = timeutil.now()
        job.progress = f"0 of {len(job.types)} resource types written"
        job.save(update_fields=["status", "transaction_time", "progress", "updated_at"])
    try:
        outputs, patients = _write_files(job)
    except _Cancelled:
        files.remove(job.pk)
        return str(ExportStatus.CANCELLED)
    except _GroupGone:
        return _fail(job, "The group no longer exists in this clinic.")
    except OSError as error:
        logger.warning("export %s could not be written: %s", job.pk, error)
        reason = error.strerror or str(error)
        return _fail(job, f"Writing the export files failed ({reason}); nothing was kept.")
    except Exception:
        logger.exception("export %s failed", job.pk)
        return _fail(job, "The export failed because of an internal error; nothing was kept.")
    return _complete(job, outputs, patients)


def _still_running(job_id: Any) -> bool:
    return ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).exists()


def _write_files(job: ExportJob) -> tuple[list[dict[str, Any]], set[str]]:
    patient_ids: set[str] | None = None
    if job.level == ExportLevel.GROUP:
        with reading_from_replica():
            patient_ids = patient_ids_in_group(job.organization, job.group_id)
        if patient_ids is None:
            raise _GroupGone
    include_text = bool(job.client and job.client.may_read_message_text)
    directory = private_dir(files.job_dir(job.pk))
    outputs: list[dict[str, Any]] = []
    patients: set[str] = set()
    total = len(job.types)
    for index, resource_type in enumerate(job.types, start=1):
        if not _still_running(job.pk):
            raise _Cancelled
        resources = iter_resources(
            job.organization,
            resource_type,
            patient_ids=patient_ids,
            since=job.since,
            include_message_text=include_text,
        )
        with reading_from_replica():  # the resources are read as they are written
            count = _write_type(directory, resource_type, resources, patients)
        if count:
            outputs.append(
                {"type": resource_type, "file": files.file_name(resource_type), "count": count}
            )
        ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            progress=f"{index} of {total} resource types written ({resource_type})",
            updated_at=timeutil.now(),
        )
    return outputs, patients


def _write_type(
    directory: Any, resource_type: str, resources: Iterator[dict[str, Any]], patients: set[str]
) -> int:
    """Write one type's file whole (under its `.part` name, then renamed); its count."""
    part = directory / files.part_name(resource_type)
    final = directory / files.file_name(resource_type)
    count = 0
    try:
        with open_private(part, "w", encoding="utf-8") as out:
            for resource in resources:
                out.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
                out.write("\n")
                count += 1
                patients.update(patient_ids_in(resource))
            out.flush()
            os.fsync(out.fileno())
        if count:
            os.replace(part, final)
        else:
            part.unlink()
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return count


def _complete(job: ExportJob, outputs: list[dict[str, Any]], patients: set[str]) -> str:
    now = timeutil.now()
    with transaction.atomic():
        current = ExportJob.objects.select_for_update().get(pk=job.pk)
        if current.status != ExportStatus.RUNNING:
            transaction.on_commit(lambda: files.remove(job.pk))
            return str(current.status)
        current.status = ExportStatus.COMPLETED
        current.output = outputs
        current.progress = "complete"
        current.completed_at = now
        current.expires_at = now + keep_for()
        current.save(
            update_fields=[
                "status",
                "output",
                "progress",
                "completed_at",
                "expires_at",
                "updated_at",
            ]
        )
        details = {
            "job": str(job.pk),
            "level": job.level,
            "group": job.group_id,
            "types": [o["type"] for o in outputs],
        }
        if job.client is not None:
            note_disclosure(
                client=job.client, action=FHIR_EXPORT, patient_ids=patients, details=details
            )
        audit.record(
            action=EXPORT_COMPLETED,
            actor_label=_label(job),
            subject=current,
            organization=job.organization_id,
            details={
                **details,
                "counts": {o["type"]: o["count"] for o in outputs},
                "patients": len(patients),
            },
        )
    return str(ExportStatus.COMPLETED)


def _fail(job: ExportJob, reason: str) -> str:
    """Remove every file of the job and record why it failed (unless it was cancelled
    meanwhile: then it stays cancelled)."""
    files.remove(job.pk)
    with transaction.atomic():
        failed = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.FAILED,
            error=reason[:500],
            progress="failed",
            output=[],
            updated_at=timeutil.now(),
        )
        if failed:
            audit.record(
                action=EXPORT_FAILED,
                actor_label=_label(job),
                subject=job,
                organization=job.organization_id,
                details={"job": str(job.pk), "reason": reason},
            )
    return str(ExportStatus.FAILED if failed else ExportJob.objects.get(pk=job.pk).status)


def remove_expired(now: datetime) -> dict[str, int]:
    """The clock's clean-up: completed exports past `expires_at` lose their files and are
    marked expired; exports whose worker died are failed; leftovers of failed and
    cancelled exports are removed."""
    expired = 0
    for job in ExportJob.objects.filter(
        status=ExportStatus.COMPLETED, expires_at__lte=now
    ).select_related("client"):
        with transaction.atomic():
            changed = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.COMPLETED).update(
                status=ExportStatus.EXPIRED, progress="expired", updated_at=now
            )
            if changed:
                audit.record(
                    action=EXPORT_EXPIRED,
                    actor_label="export clean-up",
                    subject=job,
                    organization=job.organization_id,
                    details={"job": str(job.pk), "client": _label(job)},
                )
        files.remove(job.pk)
        expired += changed
    stalled = 0
    for job in ExportJob.objects.filter(
        status=ExportStatus.RUNNING, updated_at__lte=now - STALLED_AFTER
    ).select_related("client"):
        _fail(job, "The worker stopped while writing this export; ask for it again.")
        stalled += 1
    leftovers = 0
    root = files.exports_root()
    if root.exists():
        finished = {ExportStatus.FAILED, ExportStatus.CANCELLED, ExportStatus.EXPIRED}
        names = {p.name for p in root.iterdir() if p.is_dir()}
        for job_id in ExportJob.objects.filter(
            pk__in=[n for n in names if _is_uuid(n)], status__in=finished
        ).values_list("pk", flat=True):
            leftovers += int(files.remove(job_id))
    return {"expired": expired, "stalled": stalled, "leftovers": leftovers}


def _is_uuid(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True
