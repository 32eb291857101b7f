"""Caseload page server time for 200 and 2,000 patients.

Creates a throw-away test database on the configured database (DATABASE_URL; PostgreSQL
for figures that mean anything), builds the demo personas, gives therapist_maria a caseload
of N patients (with some alerts and scores), and times GET /clinic/caseload/ through the
Django test client. Prints the median of RUNS requests per size.

    TRELLIS_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis \\
        .venv/bin/python bench/caseload.py --runs 7

Budget: under 150 ms for 200 patients and under 300 ms for 2,000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="200,2000")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from trellis.alerts.models import Alert
        from trellis.care.models import Enrollment
        from trellis.core.testing import sign_in
        from trellis.demo import personas
        from trellis.workspace.tests.test_caseload import add_patients

        cast = personas.build()
        client = sign_in(Client(), cast["therapist_maria"], verified=True)
        url = reverse("caseload:list")
        have = 0
        for size in (int(s) for s in args.sizes.split(",")):
            add_patients(cast, size - have)
            have = size
            # A few open alerts so the alert subqueries have rows to find.
            for enrollment in Enrollment.objects.all()[: size // 20]:
                Alert.objects.get_or_create(
                    organization_id=enrollment.organization_id,
                    enrollment=enrollment,
                    kind="deterioration",
                    defaults={
                        "severity": "high",
                        "reason": "bench",
                        "raised_at": enrollment.started_at,
                    },
                )
            client.get(url)  # warm up
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            print(
                f"caseload page, {size} patients on {connection.vendor}: "
                f"median {statistics.median(times):.0f} ms (min {min(times):.0f}, "
                f"max {max(times):.0f}, {args.runs} requests)"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
