"""A clinic's day under load: patients and supporters at once, with reminders being sent.

Prepares a fresh PostgreSQL database (DATABASE, dropped and made again: migrations, the
demo personas, the test program, then PATIENTS patients and SUPPORTERS supporters made
through the services, each patient enrolled with one of the supporters), gives every
person a signed-in session (a cookie and a CSRF token, written to a file the locust users
read), then starts as separate processes: a local SMTP sink, `trellis serve` (2 workers),
`trellis worker` and `trellis clock` (so due questionnaires and reminder rules send
e-mail to the sink). For each number of simulated people in USERS it runs locust headless
(bench/locustfile_clinic_day.py: the mix and think times are stated there) as a process
of its own, and prints p50 and p99 for each endpoint, requests/s, errors, and the
reminders sent meanwhile; then whether the level kept within the budgets.

    .venv/bin/python bench/clinic_day.py --users 50,100,200 --seconds 60 --runs 3

Budgets (../shared/DESIGN.md and docs/performance.md): a patient write p99 <= 50 ms; a
page p99 <= 150 ms (the caseload page's budget for 200 patients, applied to every page
and API read here). The level is carried when every endpoint keeps within its budget
and there are 0 errors.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
WRITE_BUDGET_MS = 50.0
READ_BUDGET_MS = 150.0


# --- the database and the people ------------------------------------------------------


def fresh_database(server: str, name: str) -> str:
    """Drop and create database `name` on `server` (postgres://user@host:port); its URL."""
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def prepare(patients: int, supporters: int, out: Path) -> dict[str, Any]:
    """Migrate, seed, and write every person's session to `out`; return what was made."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from datetime import time as clock

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.middleware.csrf import _get_new_csrf_string  # type: ignore[attr-defined]
    from django_otp import DEVICE_ID_SESSION_KEY

    from trellis.accounts.models import Role
    from trellis.accounts.services import create_person, enroll_totp
    from trellis.care.models import SupportLevel
    from trellis.core import timeutil
    from trellis.demo import personas
    from trellis.journey.tests.factories import publish_test_pack
    from trellis.nudges.models import OutreachSettings
    from trellis.onboarding.services.invitations import enroll_patient
    from trellis.programs.instruments import all_instruments
    from trellis.programs.models import Step

    call_command("migrate", verbosity=0)
    cast = personas.build()
    clinic = cast.clinics["riverside"]
    team = cast.teams[("riverside", "Anxiety team")]
    # Reminders may go out at any hour, so the worker sends during the run.
    OutreachSettings.objects.update_or_create(
        organization=clinic,
        defaults={"allowed_from": clock(0, 0), "allowed_until": clock(23, 59, 59, 999999)},
    )
    version = publish_test_pack()
    now = timeutil.now()

    def session(user: Any, device: Any = None) -> dict[str, str]:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        # The backend that signs people in (the first one only counts failed attempts).
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        if device is not None:
            store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store.create()
        return {"cookie": store.session_key or "", "csrf": _get_new_csrf_string()}

    started = time.monotonic()
    staff = []
    for n in range(supporters):
        member = create_person(
            organization=clinic,
            email=f"supporter{n}@clinic-day.example",
            full_name=f"Supporter {n}",
            role=Role.COACH if n % 2 else Role.THERAPIST,
            team=team,
            actor=None,
        )
        device = enroll_totp(user=member.user, actor=None, confirmed=True)
        staff.append((member.user, device, []))
    people: dict[str, Any] = {"patients": [], "supporters": []}
    for n in range(patients):
        member = create_person(
            organization=clinic,
            email=f"patient{n}@clinic-day.example",
            full_name=f"Patient {n}",
            role=Role.PATIENT,
            team=team,
            actor=None,
        )
        supporter, _device, caseload = staff[n % supporters]
        enrollment = enroll_patient(
            patient=member.user,
            program_version=version,
            support_level=SupportLevel.COACHED,
            supporters=[supporter],
            actor=supporter,
            now=now,
        )
        caseload.append(str(enrollment.pk))
        people["patients"].append({**session(member.user), "enrollments": [str(enrollment.pk)]})
    for user, device, caseload in staff:
        people["supporters"].append({**session(user, device), "enrollments": caseload})
    people["questionnaires"] = {
        code: {item.id: min(o.value for o in i.options_for(item)) for item in i.items}
        for code, i in all_instruments().items()
    }
    people["step_instruments"] = {
        s.key: s.instrument for s in Step.objects.filter(version=version).exclude(instrument="")
    }
    out.write_text(json.dumps(people))
    return {"seconds": time.monotonic() - started}


# --- the processes --------------------------------------------------------------------


class Processes:
    """The SMTP sink, the server, the worker and the clock, each a process of its own."""

    def __init__(self, workdir: Path, port: int, workers: int) -> None:
        self.workdir = workdir
        self.sink_out = workdir / "sink.json"
        self.sink = subprocess.Popen(
            [PYTHON, str(ROOT / "bench" / "nudges.py"), "--serve-smtp", str(self.sink_out)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.sink.stdout is not None
        smtp_port = json.loads(self.sink.stdout.readline())["port"]
        self.env = {
            **os.environ,
            "TRELLIS_DEBUG": "0",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "TRELLIS_AUDIT_ANCHOR_FILE": str(workdir / "anchors.jsonl"),
        }
        self.server = self._start(
            ["serve", "--workers", str(workers), "--port", str(port)], "server"
        )
        self.worker = self._start(
            ["worker", "--worker-id", "clinic-day", "--no-startup-delay", "--verbosity", "0"],
            "worker",
        )
        self.clock = self._start(["clock", "--interval", "5"], "clock")
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"the server did not answer; see {workdir / 'server.log'}")

    def _start(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [PYTHON, "-m", "trellis", *args],
            cwd=ROOT,
            env=self.env,
            stdout=(self.workdir / f"{log}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> Counter[str]:
        for process in (self.clock, self.worker, self.server):
            process.send_signal(signal.SIGTERM)
        for process in (self.clock, self.worker, self.server):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.sink.send_signal(signal.SIGTERM)
        self.sink.wait(timeout=30)
        return Counter(json.loads(self.sink_out.read_text()))


# --- one locust run -------------------------------------------------------------------


def run_locust(
    url: str,
    people: Path,
    users: int,
    spawn_rate: float,
    seconds: int,
    prefix: Path,
    *,
    think: bool = True,
) -> list[dict[str, Any]]:
    """Run locust headless as a process; the rows of its per-endpoint statistics. Without
    `think`, each simulated person acts back to back (the warm-up)."""
    with Path(f"{prefix}.log").open("wb") as log:
        subprocess.run(
            [
                str(Path(PYTHON).parent / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile_clinic_day.py"),
                "--headless",
                "--only-summary",
                "-u",
                str(users),
                "-r",
                str(spawn_rate),
                "-t",
                f"{seconds}s",
                "--host",
                url,
                "--csv",
                str(prefix),
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "CLINIC_DAY_PEOPLE": str(people),
                "CLINIC_DAY_THINK": "" if think else "0",
                "CLINIC_DAY_GC_LOG": f"{prefix}_collector.log",
            },
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    with Path(f"{prefix}_stats.csv").open() as f:
        return list(csv.DictReader(f))


def delivery_counts() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM nudges_delivery GROUP BY status")
        return dict(cursor.fetchall())


def budget_of(name: str) -> float:
    return WRITE_BUDGET_MS if name.startswith("write:") else READ_BUDGET_MS


def summarise(runs: list[list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Medians over runs, per endpoint (and the aggregated row)."""
    names = [r["Name"] for r in runs[0]]
    table: dict[str, dict[str, float]] = {}
    for name in names:
        rows = [next(r for r in run if r["Name"] == name) for run in runs if run]
        table[name] = {
            "requests": statistics.median(float(r["Request Count"]) for r in rows),
            "failures": sum(float(r["Failure Count"]) for r in rows),
            "p50": statistics.median(float(r["50%"] or 0) for r in rows),
            "p99": statistics.median(float(r["99%"] or 0) for r in rows),
            "rps": statistics.median(float(r["Requests/s"]) for r in rows),
        }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="50,100,200", help="simulated people, in order")
    parser.add_argument("--seconds", type=int, default=60, help="length of one run")
    parser.add_argument("--runs", type=int, default=1, help="runs per level (medians)")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--patients", type=int, help="patients made (default: the most users)")
    parser.add_argument("--supporters", type=int, help="supporters made (default: 5%%, >= 2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="trellis_clinic_day")
    args = parser.parse_args()
    levels = [int(u) for u in args.users.split(",")]
    patients = args.patients or max(levels)
    supporters = args.supporters or max(2, math.ceil(max(levels) * 0.05))

    os.environ.setdefault("TRELLIS_ENV", "dev")
    os.environ["DATABASE_URL"] = fresh_database(args.server, args.database)
    workdir = Path(tempfile.mkdtemp(prefix="clinic-day-"))
    print(f"logs and locust's CSV files in {workdir}", flush=True)
    people = workdir / "people.json"
    made = prepare(patients, supporters, people)
    print(
        f"{patients} patients and {supporters} supporters made in {made['seconds']:.0f} s "
        f"on {args.server}/{args.database}",
        flush=True,
    )
    processes = Processes(workdir, args.port, args.workers)
    try:
        # Warm up: each server worker's first request to each page loads its templates and
        # code and opens connections, which would otherwise set the p99 of a short run.
        # 10 people acting back to back for 20 s reach every endpoint on both workers.
        run_locust(processes.url, people, 10, 10, 20, workdir / "warm-up", think=False)
        sent_before = delivery_counts().get("sent", 0)
        for users in levels:
            runs = []
            for n in range(args.runs):
                prefix = workdir / f"u{users}-r{n}"
                runs.append(
                    run_locust(processes.url, people, users, args.spawn_rate, args.seconds, prefix)
                )
            report(users, args, summarise(runs))
        counts = delivery_counts()
    finally:
        accepted = processes.stop()
    print(
        f"reminders: {counts.get('sent', 0) - sent_before} sent during the runs "
        f"(deliveries by status {counts}); the SMTP sink accepted {sum(accepted.values())} "
        f"e-mails, {sum(n - 1 for n in accepted.values() if n > 1)} twice"
    )


def report(users: int, args: argparse.Namespace, table: dict[str, dict[str, float]]) -> None:
    total = table.pop("Aggregated")
    print(
        f"\n{users} simulated people ({args.runs} run(s) of {args.seconds} s, median): "
        f"{total['rps']:.1f} requests/s, {total['failures']:.0f} errors",
        flush=True,
    )
    print(f"  {'endpoint':32} {'requests':>8} {'p50 ms':>7} {'p99 ms':>7} {'budget':>7}")
    within = total["failures"] == 0
    for name, row in sorted(table.items()):
        ok = row["p99"] <= budget_of(name)
        within = within and ok
        print(
            f"  {name:32} {row['requests']:8.0f} {row['p50']:7.0f} {row['p99']:7.0f} "
            f"{budget_of(name):7.0f}{'' if ok else '  over'}"
            + (f"  {row['failures']:.0f} errors" if row["failures"] else "")
        )
    print(f"  within the budgets: {'yes' if within else 'no'}", flush=True)


if __name__ == "__main__":
    main()
