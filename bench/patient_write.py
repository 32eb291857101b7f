"""Patient write path: mood check-ins through the JSON API, each with its event and audit row.

Starts `trellis serve` (granian, 2 workers by default) against DATABASE_URL (use PostgreSQL
for figures that mean anything), signs a demo patient in, and runs CLIENTS concurrent
clients posting check-ins, each with a fresh client id, for SECONDS per run. Prints
requests/s and latency percentiles per run and the medians over RUNS runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis_bench \\
        .venv/bin/python bench/patient_write.py --clients 8 --seconds 10 --runs 3

Budget (docs/performance.md): >= 400 requests/s, p99 <= 50 ms at 8 concurrent clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# `trellis serve` refuses to start without TRELLIS_ENV; the bench keeps its old default.
os.environ.setdefault("TRELLIS_ENV", "dev")


def prepare() -> tuple[str, str, str]:
    """Migrate, seed the personas and an enrollment; return (session cookie, csrf, enrollment)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.middleware.csrf import _get_new_csrf_string  # type: ignore[attr-defined]

    from trellis.care.queries import current_enrollment
    from trellis.demo import personas
    from trellis.journey.tests.factories import enroll_alex, publish_test_pack

    call_command("migrate", verbosity=0)
    cast = personas.build()
    alex = cast["patient_alex"]
    enrollment = current_enrollment(alex)
    if enrollment is None:
        publish_test_pack()
        enrollment = enroll_alex(cast)
    session = SessionStore()
    session[SESSION_KEY] = str(alex.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = alex.get_session_auth_hash()
    session.create()
    return session.session_key or "", _get_new_csrf_string(), str(enrollment.pk)


def run_clients(port: int, cookie: str, csrf: str, enrollment: str, clients: int, seconds: float):
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    path = f"/api/v1/journey/enrollments/{enrollment}/moods"
    headers = {
        "Content-Type": "application/json",
        "Cookie": f"sessionid={cookie}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Referer": f"http://127.0.0.1:{port}/",
        "Host": f"127.0.0.1:{port}",
    }

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        bad: list[int] = []
        while time.perf_counter() < stop_at:
            body = json.dumps({"client_id": str(uuid.uuid4()), "score": 6, "note": ""})
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status >= 300:
                bad.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return latencies, errors, elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    cookie, csrf, enrollment = prepare()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trellis",
            "serve",
            "--workers",
            str(args.workers),
            "--port",
            str(args.port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request(
                    "GET", "/healthz"
                )
                break
            except OSError:
                time.sleep(0.1)
        run_clients(args.port, cookie, csrf, enrollment, args.clients, 2)  # warm up
        rates, p50s, p99s = [], [], []
        for n in range(1, args.runs + 1):
            latencies, errors, elapsed = run_clients(
                args.port, cookie, csrf, enrollment, args.clients, args.seconds
            )
            rate = len(latencies) / elapsed
            p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
            rates.append(rate)
            p50s.append(p50)
            p99s.append(p99)
            print(
                f"run {n}: {len(latencies)} requests, {rate:.0f} req/s, "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {len(errors)}"
                + (f" (statuses {sorted(set(errors))})" if errors else "")
            )
        print(
            f"median of {args.runs} runs: {statistics.median(rates):.0f} req/s, "
            f"p50 {statistics.median(p50s):.1f} ms, p99 {statistics.median(p99s):.1f} ms "
            f"({args.clients} clients, {args.workers} server workers, "
            f"{os.environ.get('DATABASE_URL', 'sqlite').split(':')[0]})"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
