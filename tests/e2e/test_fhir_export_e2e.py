"""An EHR exports a group of patients from end to end, as issue 13 asks: over real HTTP to
a live server on PostgreSQL, with a real `trellis worker` process taking the export from
the database queue.

The EHR (a backend client registered with its public RSA key) signs a client assertion
with its private key, gets an access token from the token endpoint, asks for a Group
`$export` with `Prefer: respond-async`, polls the status URL while the worker writes the
files, reads the manifest, downloads every NDJSON file with its token, and checks that
every line is a valid FHIR R4 resource (fhir.resources, R4B models).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from fhir.resources.R4B import get_fhir_model_class

from trellis.audit.models import AuditEvent
from trellis.core.testing import need_postgres
from trellis.demo import personas
from trellis.interop.disclosures import FHIR_EXPORT
from trellis.interop.models import ExportJob, ExportStatus
from trellis.interop.tests.fhir_factories import build_records
from trellis.interop.tests.smart_keys import register, rsa_key, sign

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
WORKER = [sys.executable, "-m", "trellis", "worker"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def call(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def start_worker(tmp_path: Path, var_dir: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        TRELLIS_ENV="test",
        DATABASE_URL=database_url(),
        TRELLIS_TASK_BACKEND="database",
        TRELLIS_VAR_DIR=str(var_dir),
        TRELLIS_AUDIT_ANCHOR_FILE=str(tmp_path / "anchors.jsonl"),
    )
    log = (tmp_path / "worker.log").open("wb")
    return subprocess.Popen(
        [*WORKER, "--worker-id", "export-e2e", "--no-startup-delay", "--interval", "0.2"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_an_ehr_authenticates_exports_a_group_polls_and_downloads_valid_ndjson(
    transactional_db: Any, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    need_postgres()
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    settings.VAR_DIR = var_dir  # the live server reads the files the worker writes
    cast = personas.build()
    records = build_records(cast)
    ehr = register(records.riverside, cast["admin_avery"], name="Riverside EHR")
    base = f"{live_server.url}/fhir/R4"

    # 1. Discovery, then a token for a signed assertion.
    status, _headers, body = call("GET", f"{base}/.well-known/smart-configuration")
    token_url = json.loads(body)["token_endpoint"]
    assert status == 200 and token_url == f"{base}/auth/token"
    assertion = sign(rsa_key(), client_id=ehr.client_id, kid="rsa-1", aud=token_url)
    status, _headers, body = call(
        "POST",
        token_url,
        form={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": "system/*.read",
        },
    )
    assert status == 200, body
    token = json.loads(body)
    assert token["token_type"] == "bearer" and token["expires_in"] == 300
    auth = {"Authorization": f"Bearer {token['access_token']}"}

    # 2. The Group export (the program Alex is enrolled in), answered at once with 202.
    group = records.enrollment.program_version.program_id
    status, headers, body = call(
        "GET",
        f"{base}/Group/{group}/$export",
        headers={**auth, "Prefer": "respond-async", "Accept": "application/fhir+json"},
    )
    assert status == 202, body
    status_url = headers["Content-Location"]
    assert status_url.startswith(f"{base}/bulk/")

    # 3. A real worker takes the job from the queue; the EHR polls until the manifest.
    worker = start_worker(tmp_path, var_dir)
    try:
        deadline = time.monotonic() + 120
        polls_in_progress = 0
        while True:
            status, headers, body = call("GET", status_url, headers=auth)
            if status != 202:
                break
            polls_in_progress += 1
            assert headers["X-Progress"] and int(headers["Retry-After"]) > 0
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.3)
    finally:
        stop(worker)
    assert status == 200, (body, (tmp_path / "worker.log").read_text()[-3000:])
    assert polls_in_progress >= 1
    manifest = json.loads(body)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"] == f"{base}/Group/{group}/$export"
    assert {"Patient", "Observation", "QuestionnaireResponse"} <= {
        o["type"] for o in manifest["output"]
    }

    # 4. Every file, downloaded with the token: every line a valid R4 resource of its type.
    resources = 0
    for output in manifest["output"]:
        status, headers, body = call("GET", output["url"], headers=auth)
        assert status == 200
        assert headers["Content-Type"] == "application/fhir+ndjson"
        lines = body.decode().splitlines()
        assert len(lines) == output["count"]
        for line in lines:
            resource = json.loads(line)
            assert resource["resourceType"] == output["type"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            resources += 1
        # Without the token the file is not served.
        assert call("GET", output["url"])[0] == 401
    assert resources > 5

    # Only the group's patient went out, and the disclosure names the client.
    patients = {
        json.loads(line)["id"]
        for output in manifest["output"]
        if output["type"] == "Patient"
        for line in call("GET", output["url"], headers=auth)[2].decode().splitlines()
    }
    assert patients == {str(records.alex.pk)}
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.COMPLETED
    disclosure = AuditEvent.objects.get(action=FHIR_EXPORT)
    assert disclosure.patient_id == records.alex.pk
    assert disclosure.actor_label == f"Riverside EHR ({ehr.client_id})"
