"""Where the patient write path spends its CPU: one process, the real middleware, no network.

It signs in a bench patient as bench/patient_write.py does (same database, same patients),
then sends N mood check-ins or PHQ-9 submissions straight into the WSGI application Django
builds for `trellis serve` (every middleware, the API, the service, the commit), one after
the other, and prints the CPU milliseconds a request (time.process_time, this process
only: PostgreSQL's own work is not in it), the SQL statements of one request, and, with
--profile, cProfile's top entries by cumulative and by own time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis_bench \\
        .venv/bin/python bench/profile_write.py --write mood --requests 2000 --profile

As under `trellis serve`, the latency histogram is kept in prometheus_client's
multiprocess files (a private temporary folder) and TRELLIS_MAX_IN_FLIGHT is 8.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TRELLIS_ENV", "dev")
os.environ.setdefault("TRELLIS_DEBUG", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
os.environ.setdefault("TRELLIS_MAX_IN_FLIGHT", "8")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="profile-write-"))

from bench.patient_write import (  # noqa: E402 (the environment first)
    PATHS,
    PHQ9_ANSWERS,
    Patient,
    prepare,
    top_up_questionnaires,
)
from trellis.core.collector import settle_collector  # noqa: E402 (the environment first)


def body_for(write: str) -> bytes:
    if write == "mood":
        fields: dict[str, Any] = {"client_id": str(uuid.uuid4()), "score": 6, "note": ""}
    else:
        fields = {"client_id": str(uuid.uuid4()), "instrument": "PHQ-9", "answers": PHQ9_ANSWERS}
    return json.dumps(fields).encode()


def environ_for(write: str, patient: Patient) -> dict[str, Any]:
    body = body_for(write)
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATHS[write].format(patient.enrollment),
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8765",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8765",
        "HTTP_COOKIE": f"sessionid={patient.session}; csrftoken={patient.csrf}",
        "HTTP_X_CSRFTOKEN": patient.csrf,
        "HTTP_REFERER": "http://127.0.0.1:8765/",
        "HTTP_USER_AGENT": "bench/profile_write",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def send(app: Any, write: str, patient: Patient) -> int:
    status: list[str] = []

    def start_response(line: str, headers: list[Any], exc_info: Any = None) -> None:
        status.append(line)

    answer = app(environ_for(write, patient), start_response)
    b"".join(answer)
    answer.close()
    code = int(status[0].split()[0])
    if code not in (200, 201):
        sys.exit(f"{write}: answered {status[0]}")
    return code


class CollectorTimes:
    """The garbage collector's runs while it is installed: how many of each generation and
    the time they took (a collection is pure CPU, so its wall time is its CPU time)."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self.longest = 0.0
        self._started = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        generation = info["generation"]
        self.runs[generation] += 1
        self.seconds[generation] += took
        self.longest = max(self.longest, took)

    def stop(self) -> None:
        gc.callbacks.remove(self._note)

    def report(self, *, requests: int, cpu: float) -> str:
        total = sum(self.seconds)
        runs = ", ".join(
            f"gen{n} {self.runs[n]} ({self.seconds[n] * 1000:.0f} ms)" for n in range(3)
        )
        return (
            f"collector: {runs}; {total / requests * 1000:.3f} ms a request "
            f"({total / cpu:.1%} of the CPU), longest {self.longest * 1000:.1f} ms; "
            f"frozen objects {gc.get_freeze_count()}"
        )


def postgres_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL process on this machine (its backends,
    the WAL writer and the rest), from /proc: the database's side of the requests."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:  # the process ended meanwhile
            continue
        if fields[0].endswith("(postgres"):
            values = fields[1].split()
            total += int(values[11]) + int(values[12])  # utime, stime
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", choices=sorted(PATHS), default="mood")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--patients", type=int, default=1, help="write for this many patients in turn"
    )
    parser.add_argument("--profile", action="store_true", help="print cProfile's top entries")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    parser.add_argument("--callers", default="", help="who calls the functions matching this")
    parser.add_argument("--callees", default="", help="what the functions matching this call")
    parser.add_argument(
        "--gc", action="store_true", help="also print the garbage collector's share of the time"
    )
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave what start-up loaded in the collector's passes (trellis.wsgi freezes it)",
    )
    args = parser.parse_args()

    patients = prepare(args.patients)
    patient = patients[0]
    import logging

    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # The access line goes to a file under `trellis serve`'s bench; keep it off the screen.
    logging.getLogger("trellis.access").propagate = False
    app = get_wsgi_application()
    if args.write == "phq9":
        top_up_questionnaires(patients, each=args.requests // len(patients) + 60)
    for _ in range(20):  # warm caches, the pool, the URL resolver
        send(app, args.write, patient)
    with CaptureQueriesContext(connection) as ctx:
        send(app, args.write, patient)
    print(f"{args.write}: {len(ctx.captured_queries)} statements a request")
    if not args.no_freeze:
        settle_collector()
    if args.sql:
        for query in ctx.captured_queries:
            print("   ", query["sql"][:300])

    # Timed by CPU, not the wall clock: waiting on PostgreSQL is not this process's cost.
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    collector = CollectorTimes() if args.gc else None
    cpu, wall, database = time.process_time(), time.perf_counter(), postgres_cpu()
    if profiler:
        profiler.enable()
    for n in range(args.requests):
        send(app, args.write, patients[n % len(patients)])
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    database = postgres_cpu() - database
    print(
        f"{args.write}: {args.requests} requests, CPU {cpu / args.requests * 1000:.2f} ms "
        f"a request, wall {wall / args.requests * 1000:.2f} ms a request"
        + (" (under the profiler)" if profiler else "")
        + (
            f"; PostgreSQL's CPU {database / args.requests * 1000:.2f} ms a request"
            if connection.vendor == "postgresql"
            else ""
        )
    )
    if collector is not None:
        collector.stop()
        print(collector.report(requests=args.requests, cpu=cpu))
    if profiler:
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())
        if args.callers:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_callers(args.callers)
            print(out.getvalue())
        if args.callees:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_callees(args.callees)
            print(out.getvalue())


if __name__ == "__main__":
    main()
