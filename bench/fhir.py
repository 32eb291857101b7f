"""FHIR read and bulk export: how fast a connected system reads a clinic.

Creates a throw-away test database on the configured database (DATABASE_URL; PostgreSQL
for figures that mean anything), builds the demo personas and N simulated patients at
Riverside played through Trellis's own services for W weeks (`insights.clinic_sim`), and
registers a backend client with an access token. Then, RUNS times each:

- a search page: GET /fhir/R4/Observation?_count=200 through the Django test client (the
  page's `fhir.read` audit events included), and a read of one Patient;
- a system-level `$export` of every type: the kick-off, then the worker's run
  (`interop.bulk.runner.run`, in this process), with its NDJSON files and its
  `fhir.export` audit events.

Prints medians: milliseconds per page and per read, seconds per export, resources and
megabytes written, resources per second.

    TRELLIS_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis \\
        .venv/bin/python bench/fhir.py --patients 100 --weeks 8 --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    os.environ.setdefault("TRELLIS_VAR_DIR", tempfile.mkdtemp(prefix="trellis-bench-fhir-"))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args, Client)
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


def run(args: argparse.Namespace, client_class: type) -> None:
    from trellis.core import timeutil
    from trellis.demo import personas
    from trellis.demo.journeys import seed_journeys
    from trellis.insights import clinic_sim
    from trellis.interop.bulk import files, runner
    from trellis.interop.models import ExportJob
    from trellis.interop.tests.fhir_factories import backend_token
    from trellis.programs.models import ProgramVersion

    cast = personas.build(with_mfa=False)
    now = timeutil.now()
    seed_journeys(cast, now, warn=lambda _: None)
    clinic = cast.clinics["riverside"]
    version = ProgramVersion.objects.filter(program__slug="moving-forward").order_by("-number")[0]
    started = time.perf_counter()
    clinic_sim.populate(
        clinic,
        version,
        clinic_sim.supporters_at(clinic),
        patients=args.patients,
        weeks=args.weeks,
        seed=2026,
        now=now,
    )
    print(
        f"{args.patients} simulated patients over {args.weeks} weeks made in "
        f"{time.perf_counter() - started:.0f} s"
    )
    _client, secret = backend_token(clinic, scopes="system/*.read")
    http = client_class(HTTP_AUTHORIZATION=f"Bearer {secret}")

    page_ms, read_ms = [], []
    patient_id = str(version.enrollments.values_list("patient_id", flat=True)[0])
    for _ in range(args.runs):
        started = time.perf_counter()
        answer = http.get("/fhir/R4/Observation", {"_count": "200"})
        page_ms.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.content[:300]
        started = time.perf_counter()
        assert http.get(f"/fhir/R4/Patient/{patient_id}").status_code == 200
        read_ms.append((time.perf_counter() - started) * 1000)
    total = answer.json()["total"]
    print(
        f"search Observation?_count=200 (of {total}): median {statistics.median(page_ms):.0f} ms "
        f"a page; read Patient/<id>: median {statistics.median(read_ms):.1f} ms"
    )

    seconds, written, size = [], 0, 0
    for _ in range(args.runs):
        started = time.perf_counter()
        kick = http.get("/fhir/R4/$export", HTTP_PREFER="respond-async")
        assert kick.status_code == 202, kick.content[:300]
        job = ExportJob.objects.latest("created_at")
        if job.status != "completed":
            runner.run(str(job.pk))
        seconds.append(time.perf_counter() - started)
        job.refresh_from_db()
        assert job.status == "completed", (job.status, job.error)
        written = sum(entry["count"] for entry in job.output)
        size = sum(f.stat().st_size for f in files.job_dir(job.pk).iterdir())
        counts = ", ".join(f"{e['type']} {e['count']}" for e in job.output)
    median = statistics.median(seconds)
    print(f"system $export: {written} resources ({counts})")
    print(f"  {size / 1e6:.1f} MB of NDJSON")
    print(
        f"  median {median:.1f} s an export over {args.runs} runs "
        f"({written / median:,.0f} resources/s, fhir.export audit events included)"
    )


if __name__ == "__main__":
    main()
