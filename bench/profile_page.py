"""Where a page's CPU goes: one process, the real middleware, a patient of the bench.

Signs in one patient of an existing bench database (by default one made by
bench/clinic_day.py: the sixth active enrollment by age) through the test client, asks
for PATH a few times to warm caches, then REQUESTS times, and prints the statements of one
request and the CPU milliseconds a request of this process (time.process_time:
PostgreSQL's own work is not in it); with --profile, cProfile's top entries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis_clinic_day TRELLIS_ENV=test \\
        .venv/bin/python bench/profile_page.py /today/ --requests 100

PATH may name the enrollment as {enrollment}: /api/v1/journey/enrollments/{enrollment}/today
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries")
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from trellis.accounts.backends import SIGN_IN_BACKEND
    from trellis.care.models import Enrollment, EnrollmentStatus

    running = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).order_by("created_at")
    enrollment = running.select_related("patient")[5]
    client = Client()
    client.force_login(enrollment.patient, backend=SIGN_IN_BACKEND)
    url = args.path.format(enrollment=enrollment.pk)
    for _ in range(5):
        answer = client.get(url)
        if answer.status_code != 200:
            sys.exit(f"{url} answered {answer.status_code}")
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    print(f"{url}: {len(ctx.captured_queries)} statements a request")

    profiler = cProfile.Profile(time.process_time) if args.profile else None
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(args.requests):
        client.get(url)
    if profiler:
        profiler.disable()
    cpu = time.process_time() - cpu
    print(
        f"{url}: {args.requests} requests, CPU {cpu / args.requests * 1000:.1f} ms a request"
        + (" (under the profiler)" if profiler else "")
    )
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
