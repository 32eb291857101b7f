"""Bulk Data export through real HTTP (Django's test client) with real files: kick-off and
its refusals, polling, the manifest, the files (every line a valid R4 resource), cancel,
expiry, a disk that fills up mid-export, and the audit trail of every patient disclosed.

The worker's task runs here in the test's process (`run_export.call`); the end-to-end
test (test_bulk_e2e.py) runs it in a real worker process instead.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tasks_db.models import DBTaskResult

from trellis.audit.models import AuditEvent
from trellis.care.models import SupportLevel
from trellis.core import timeutil
from trellis.core.periodic import jobs
from trellis.demo import personas
from trellis.interop.bulk import files, runner
from trellis.interop.disclosures import FHIR_EXPORT
from trellis.interop.fhir.export import patient_ids_in_group
from trellis.interop.models import ExportJob, ExportStatus
from trellis.interop.tasks import remove_expired_exports, run_export
from trellis.interop.tests.fhir_factories import Records, backend_token, build_records, validated
from trellis.onboarding.services.invitations import enroll_patient
from trellis.programs.services import publish_pack

pytestmark = pytest.mark.django_db

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


@pytest.fixture
def records(cast: personas.Cast) -> Records:
    return build_records(cast)


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def ehr(records: Records) -> tuple[Any, str]:
    return backend_token(records.riverside)


def bearer(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


def kick_off(
    secret: str, path: str = "/fhir/R4/$export", captured: Any = None, **query: str
) -> Any:
    return Client().get(path, query, headers=bearer(secret, **ASYNC))


def operation_outcome(response: Any, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    body = validated(response.json())
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["diagnostics"])


def started(response: Any) -> ExportJob:
    assert response.status_code == 202, response.content
    location = response["Content-Location"]
    job_id = location.rsplit("/", 1)[1]
    assert location == f"http://testserver/fhir/R4/bulk/{job_id}"
    return ExportJob.objects.get(pk=job_id)


def export(secret: str, capture: Any, path: str = "/fhir/R4/$export", **query: str) -> ExportJob:
    """Kick off, let the transaction's on-commit enqueue the task, and run it."""
    with capture(execute=True):
        job = started(kick_off(secret, path, **query))
    assert DBTaskResult.objects.filter(
        task_path="trellis.interop.tasks.run_export", args_kwargs__args=[str(job.pk)]
    ).exists()
    run_export.call(str(job.pk))
    job.refresh_from_db()
    return job


def poll(secret: str, job: ExportJob) -> Any:
    return Client().get(f"/fhir/R4/bulk/{job.pk}", headers=bearer(secret))


def download(secret: str, url: str) -> list[dict[str, Any]]:
    response = Client().get(url, headers=bearer(secret))
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/fhir+ndjson"
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n")
    return [validated(json.loads(line)) for line in text.splitlines()]


def manifest_files(secret: str, job: ExportJob) -> dict[str, list[dict[str, Any]]]:
    response = poll(secret, job)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["requiresAccessToken"] is True
    assert body["error"] == []
    assert body["request"] == job.request_url
    found = {}
    for entry in body["output"]:
        lines = download(secret, entry["url"])
        assert len(lines) == entry["count"] > 0
        assert {r["resourceType"] for r in lines} == {entry["type"]}
        found[entry["type"]] = lines
    return found


# Kick-off refusals -------------------------------------------------------------------


def test_without_a_token_the_export_is_401(records: Records) -> None:
    response = Client().get("/fhir/R4/$export", headers=ASYNC)
    operation_outcome(response, 401)
    assert not ExportJob.objects.exists()


def test_without_prefer_respond_async_the_kick_off_is_400(ehr: tuple[Any, str]) -> None:
    response = Client().get("/fhir/R4/$export", headers=bearer(ehr[1]))
    assert "respond-async" in operation_outcome(response, 400)
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"_type": "Patient,Medication"}, "Medication"),
        ({"_since": "last week"}, "last week"),
        ({"_outputFormat": "application/json"}, "application/json"),
        ({"_typeFilter": "Observation?code=44249-1"}, "_typeFilter"),
    ],
)
def test_a_kick_off_trellis_cannot_run_is_400_naming_why(
    ehr: tuple[Any, str], query: dict[str, str], named: str
) -> None:
    assert named in operation_outcome(kick_off(ehr[1], **query), 400)
    assert not ExportJob.objects.exists()


def test_types_outside_the_tokens_scopes_are_403(records: Records) -> None:
    _client, secret = backend_token(records.riverside, scopes="system/Patient.read", name="Lab")
    assert "Observation" in operation_outcome(kick_off(secret, _type="Observation"), 403)
    assert not ExportJob.objects.exists()


def test_another_clinics_group_or_an_unknown_one_is_404(
    records: Records, ehr: tuple[Any, str], cast: personas.Cast
) -> None:
    # A program only Hillside uses: a Group of Hillside, never of Riverside.
    sleep = publish_pack(Path(settings.BASE_DIR) / "content" / "better-sleep", actor=None)
    enroll_patient(
        patient=cast["patient_farah"],
        program_version=sleep,
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_otto"]],
        actor=cast["therapist_otto"],
        now=timeutil.now(),
    )
    hillside_group = str(sleep.program_id)
    assert patient_ids_in_group(records.hillside, hillside_group)
    operation_outcome(kick_off(ehr[1], f"/fhir/R4/Group/{hillside_group}/$export"), 404)
    for unknown in ("00000000-0000-0000-0000-000000000000", "not-a-group"):
        operation_outcome(kick_off(ehr[1], f"/fhir/R4/Group/{unknown}/$export"), 404)
    assert not ExportJob.objects.exists()


def test_a_post_kick_off_is_not_supported(ehr: tuple[Any, str]) -> None:
    response = Client().post("/fhir/R4/$export", headers=bearer(ehr[1], **ASYNC))
    operation_outcome(response, 405)


# The whole path ----------------------------------------------------------------------


def test_a_system_export_is_polled_then_its_files_hold_valid_resources_of_the_clinic(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    _client, secret = ehr
    with django_capture_on_commit_callbacks(execute=True):
        job = started(kick_off(secret))
    waiting = poll(secret, job)
    assert waiting.status_code == 202
    assert waiting["X-Progress"] and waiting["Retry-After"] == "5"

    assert run_export.call(str(job.pk)) == {"job": str(job.pk), "status": "completed"}

    found = manifest_files(secret, job)
    assert {"Patient", "Observation", "QuestionnaireResponse", "Communication"} <= set(found)
    patient_ids = {p["id"] for p in found["Patient"]}
    assert str(records.alex.pk) in patient_ids
    assert str(records.farah.pk) not in patient_ids
    everything = json.dumps(found)
    assert str(records.farah.pk) not in everything
    # The client may not read message text: Communication carries no payload.
    assert all("payload" not in c for c in found["Communication"])
    directory = files.job_dir(job.pk)
    assert not list(directory.glob("*.part"))
    assert (directory.stat().st_mode & 0o777) == 0o700


def test_a_group_export_holds_only_the_groups_patients(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    group = records.enrollment.program_version.program_id
    job = export(ehr[1], django_capture_on_commit_callbacks, f"/fhir/R4/Group/{group}/$export")
    assert job.status == ExportStatus.COMPLETED and job.level == "group"
    found = manifest_files(ehr[1], job)
    assert {p["id"] for p in found["Patient"]} == {str(records.alex.pk)}


def test_type_and_since_limit_the_files(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    job = export(
        ehr[1],
        django_capture_on_commit_callbacks,
        _type="Patient,Observation",
        _outputFormat="ndjson",
    )
    assert set(manifest_files(ehr[1], job)) == {"Patient", "Observation"}

    later = (timeutil.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    nothing = export(ehr[1], django_capture_on_commit_callbacks, _type="Observation", _since=later)
    assert nothing.status == ExportStatus.COMPLETED
    assert poll(ehr[1], nothing).json()["output"] == []


def test_message_text_is_exported_only_for_a_client_allowed_it(
    records: Records, django_capture_on_commit_callbacks: Any
) -> None:
    _client, secret = backend_token(records.riverside, may_read_message_text=True, name="Chart")
    job = export(
        secret,
        django_capture_on_commit_callbacks,
        "/fhir/R4/Patient/$export",
        _type="Communication",
    )
    texts = json.dumps(manifest_files(secret, job)["Communication"])
    assert records.from_alex.body in texts


def test_every_patient_in_the_files_is_a_disclosure_by_the_client(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    client, secret = ehr
    job = export(secret, django_capture_on_commit_callbacks)
    disclosed = AuditEvent.objects.filter(action=FHIR_EXPORT)
    assert {str(e.patient_id) for e in disclosed} == {str(records.alex.pk)}
    event = disclosed.get()
    assert event.actor_label == f"{client.name} ({client.client_id})"
    assert event.details["job"] == str(job.pk)
    assert "Observation" in event.details["types"]
    started_event = AuditEvent.objects.get(action="fhir.export.start")
    assert started_event.actor_label == event.actor_label


# Only its own client -----------------------------------------------------------------


def test_another_client_cannot_poll_download_or_cancel_the_export(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    job = export(ehr[1], django_capture_on_commit_callbacks, _type="Patient")
    url = poll(ehr[1], job).json()["output"][0]["url"]
    _other, intruder = backend_token(records.riverside, name="Warehouse")
    operation_outcome(poll(intruder, job), 404)
    operation_outcome(Client().get(url, headers=bearer(intruder)), 404)
    operation_outcome(Client().delete(f"/fhir/R4/bulk/{job.pk}", headers=bearer(intruder)), 404)
    operation_outcome(Client().get(url), 401)
    job.refresh_from_db()
    assert job.status == ExportStatus.COMPLETED


def test_a_file_the_manifest_does_not_list_is_404(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    job = export(ehr[1], django_capture_on_commit_callbacks, _type="Patient")
    for name in ("Observation", "..%2Fsecrets", "patient"):
        response = Client().get(f"/fhir/R4/bulk/{job.pk}/{name}.ndjson", headers=bearer(ehr[1]))
        assert response.status_code == 404


# Cancel, expiry, failure --------------------------------------------------------------


def test_cancelling_removes_the_files_and_the_status_url(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    job = export(ehr[1], django_capture_on_commit_callbacks)
    assert files.job_dir(job.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().delete(f"/fhir/R4/bulk/{job.pk}", headers=bearer(ehr[1]))
    operation_outcome(response, 202)
    assert not files.job_dir(job.pk).exists()
    operation_outcome(poll(ehr[1], job), 404)
    operation_outcome(Client().delete(f"/fhir/R4/bulk/{job.pk}", headers=bearer(ehr[1])), 404)
    assert AuditEvent.objects.filter(action="fhir.export.cancel").count() == 1


def test_a_job_cancelled_before_the_worker_takes_it_writes_nothing(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = started(kick_off(ehr[1]))
        Client().delete(f"/fhir/R4/bulk/{job.pk}", headers=bearer(ehr[1]))
    assert run_export.call(str(job.pk))["status"] == "cancelled"
    assert not files.job_dir(job.pk).exists()
    assert not AuditEvent.objects.filter(action=FHIR_EXPORT).exists()


def test_expired_exports_lose_their_files_to_the_hourly_clean_up(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TRELLIS_EXPORT_KEEP_HOURS = 2
    job = export(ehr[1], django_capture_on_commit_callbacks, _type="Patient")
    assert job.expires_at is not None and job.completed_at is not None
    assert job.expires_at - job.completed_at == timedelta(hours=2)
    url = poll(ehr[1], job).json()["output"][0]["url"]

    assert remove_expired_exports.call()["expired"] == 0
    assert files.job_dir(job.pk).exists()

    ExportJob.objects.filter(pk=job.pk).update(expires_at=timeutil.now() - timedelta(seconds=1))
    operation_outcome(Client().get(url, headers=bearer(ehr[1])), 404)
    assert remove_expired_exports.call()["expired"] == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED
    assert not files.job_dir(job.pk).exists()
    operation_outcome(poll(ehr[1], job), 404)


def test_an_export_whose_worker_died_is_failed_and_cleaned_up(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = started(kick_off(ehr[1]))
    stale = timeutil.now() - timedelta(hours=2)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, updated_at=stale)
    part = files.job_dir(job.pk) / files.part_name("Patient")
    part.parent.mkdir(parents=True)
    part.write_text('{"resourceType": "Pat')
    assert remove_expired_exports.call()["stalled"] == 1
    assert "worker stopped" in operation_outcome(poll(ehr[1], job), 500)
    assert not files.job_dir(job.pk).exists()


class FillsUp:
    """A file on a disk with `room` bytes left: the write past it fails as a full disk does."""

    def __init__(self, real: Any, room: list[int]) -> None:
        self.real, self.room = real, room

    def write(self, text: str) -> int:
        self.room[0] -= len(text.encode())
        if self.room[0] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(self.real.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __enter__(self) -> FillsUp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()


@pytest.fixture
def small_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The export folder's disk has room for about one small file."""
    room = [4000]
    real_open = runner.open_private

    def open_on_small_disk(path: Path, mode: str = "w", **kwargs: Any) -> Any:
        return FillsUp(real_open(path, mode, **kwargs), room)

    monkeypatch.setattr(runner, "open_private", open_on_small_disk)
    yield room


def test_a_full_disk_fails_the_export_clearly_and_keeps_no_partial_file(
    records: Records,
    ehr: tuple[Any, str],
    django_capture_on_commit_callbacks: Any,
    small_disk: list[int],
) -> None:
    job = export(ehr[1], django_capture_on_commit_callbacks)

    assert job.status == ExportStatus.FAILED
    assert job.output == []
    assert "No space left on device" in job.error
    assert "No space left on device" in operation_outcome(poll(ehr[1], job), 500)
    assert not files.job_dir(job.pk).exists()
    assert not AuditEvent.objects.filter(action=FHIR_EXPORT).exists()
    assert AuditEvent.objects.filter(action=runner.EXPORT_FAILED).count() == 1
    # Nothing of it can be downloaded.
    operation_outcome(
        Client().get(f"/fhir/R4/bulk/{job.pk}/Patient.ndjson", headers=bearer(ehr[1])), 404
    )


def test_the_worker_running_a_job_twice_changes_nothing_the_second_time(
    records: Records, ehr: tuple[Any, str], django_capture_on_commit_callbacks: Any
) -> None:
    job = export(ehr[1], django_capture_on_commit_callbacks, _type="Patient")
    before = AuditEvent.objects.count()
    assert run_export.call(str(job.pk))["status"] == "completed"
    assert AuditEvent.objects.count() == before


def test_the_clock_runs_the_clean_ups_every_hour() -> None:
    every = {job.name: job.every for job in jobs()}
    assert every["trellis.interop.tasks.remove_expired_exports"] == timedelta(hours=1)
    assert every["trellis.interop.tasks.remove_spent_credentials"] == timedelta(hours=1)
