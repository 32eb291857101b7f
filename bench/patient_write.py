"""The patient write path: mood check-ins and PHQ-9 submissions through the JSON API.

A clinic's patients write at the same time, each on their own enrollment and each now and
then, so the bench signs in CLIENTS x PATIENTS patients (made once, through the services,
in the demo's first clinic, each enrolled in the test program; --patients, 64 by default)
and each load client writes for its own share of them in turn, so no patient has two
requests in flight at once. `--patients 1` gives each client one patient, as rounds before
the fifth measured. The load comes from `wrk` (Debian's package, `apt-get install -y
wrk`), a separate process, with a Lua script that sends each request with a fresh client
id. `trellis serve` (granian,
WORKERS processes) serves against DATABASE_URL (use PostgreSQL for figures that mean
anything) with debug pages off.

For each write it prints, per run and as medians of RUNS runs: requests/s, p50 and p99
latency (wrk's), errors (non-2xx answers and socket errors), and CPU milliseconds per
request for the whole machine (from /proc/stat, so it includes PostgreSQL, the load
generator and anything else running), for the server's processes and for wrk. Then one
patient's serial rate (one client writing for one patient, as fast as it can) for each write.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis_bench \\
        .venv/bin/python bench/patient_write.py --clients 8 --seconds 10 --runs 3

Budget (docs/performance.md, DESIGN.md): >= 400 requests/s, p99 <= 50 ms at 8 clients,
2 server workers, for each write.

A PHQ-9 submission needs an open questionnaire to answer: the bench tops up each bench
patient's open PHQ-9 questionnaires (program-step occasions numbered from 1000) before
each run, to what the run can answer at most (800 a second) shared among the patients:
about 20 each with 512 patients, where one patient per client needs about a thousand,
which every submission's reads then pass over. Its answers hold no safety answer (item 9
is 0), so the safety pathway is checked and finds nothing, as for most submissions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# `trellis serve` refuses to start without TRELLIS_ENV; debug pages off for speed.
os.environ.setdefault("TRELLIS_ENV", "dev")
os.environ.setdefault("TRELLIS_DEBUG", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")

PHQ9_ANSWERS = {f"q{i}": 1 for i in range(1, 9)} | {"q9": 0}
FIRST_SEQUENCE = 1000
LAST_SEQUENCE = 32767  # the column is a small integer
CLK_TCK = os.sysconf("SC_CLK_TCK")
# A clinic's patients each write now and then: each client writes for this many, in turn.
PATIENTS_PER_CLIENT = 64

LUA = r"""
-- wrk -t N -c N: one connection per thread. Connection k writes for its own share of the
-- patients (k, k + N, k + 2N, ...), one after the other, so no patient has two requests
-- in flight at once, as no patient taps twice at the same moment.
local patients = %(patients)s
local clients = %(clients)d
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("slot", counter)
end
function init(args)
  mine = {}
  for i = slot, #patients, clients do
    table.insert(mine, patients[i])
  end
  turn = 0
  headers = {
    ["Content-Type"] = "application/json",
    ["Referer"] = "http://127.0.0.1:%(port)d/",
  }
  math.randomseed(os.time() * 1000 + slot)
end
local function uuid4()
  local t = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (string.gsub(t, "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%%x", v)
  end))
end
function request()
  turn = (turn %% #mine) + 1
  local p = mine[turn]
  headers["Cookie"] = "sessionid=" .. p.session .. "; csrftoken=" .. p.csrf
  headers["X-CSRFToken"] = p.csrf
  local body = string.format(%(body)s, uuid4())
  return wrk.format("POST", p.path, headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,' ..
    '"status_errors":%%d,"socket_errors":%%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""

BODIES = {
    "mood": '\'{"client_id":"%s","score":6,"note":""}\'',
    "phq9": '\'{"client_id":"%s","instrument":"PHQ-9","answers":'
    + json.dumps(PHQ9_ANSWERS, separators=(",", ":")).replace('"', '\\"')
    + "}'",
}
PATHS = {
    "mood": "/api/v1/journey/enrollments/{}/moods",
    "phq9": "/api/v1/measures/enrollments/{}/responses",
}


@dataclass(frozen=True)
class Patient:
    session: str
    csrf: str
    enrollment: str


def prepare(count: int) -> list[Patient]:
    """Migrate, build the personas, and sign in `count` enrolled bench patients."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
    from django.core.management import call_command
    from django.middleware.csrf import _get_new_csrf_string  # type: ignore[attr-defined]

    from trellis.accounts.models import Role, User
    from trellis.accounts.services.people import create_person
    from trellis.care.models import Enrollment, EnrollmentStatus, SupportLevel
    from trellis.core import timeutil
    from trellis.demo import personas
    from trellis.journey.tests.factories import publish_test_pack
    from trellis.onboarding.services import enroll_patient

    # The session engine the server uses (with REDIS_URL, sessions are cached there too).
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore

    call_command("migrate", verbosity=0)
    cast = personas.build()
    maria = cast["therapist_maria"]
    clinic = maria.memberships.get(is_active=True).organization
    version = publish_test_pack()
    # The backend a signed-in session names: the first that can load a user.
    backend = next(
        b for b in settings.AUTHENTICATION_BACKENDS if hasattr(load_backend(b), "get_user")
    )
    patients = []
    for n in range(1, count + 1):
        email = f"bench-patient-{n}@patients.example"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = create_person(
                organization=clinic,
                email=email,
                full_name=f"Bench Patient {n}",
                role=Role.PATIENT,
                actor=None,
            ).user
        enrollment = Enrollment.objects.filter(
            patient=user, program_version=version, status=EnrollmentStatus.ACTIVE
        ).first()
        if enrollment is None:
            enrollment = enroll_patient(
                patient=user,
                program_version=version,
                support_level=SupportLevel.THERAPIST_ASSISTED,
                supporters=[maria],
                actor=maria,
                now=timeutil.now() - timedelta(minutes=5),
            )
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        patients.append(
            Patient(session.session_key or "", _get_new_csrf_string(), str(enrollment.pk))
        )
    return patients


def top_up_questionnaires(patients: list[Patient], each: int) -> None:
    """At least `each` open PHQ-9 questionnaires for every bench patient."""
    from django.db.models import Max

    from trellis.core import timeutil
    from trellis.measures.models import AssignmentStatus, Occasion, QuestionnaireAssignment

    now = timeutil.now()
    rows = []
    for patient in patients:
        mine = QuestionnaireAssignment.objects.filter(
            enrollment_id=patient.enrollment, instrument="PHQ-9", occasion=Occasion.PROGRAM_STEP
        )
        open_now = mine.filter(status=AssignmentStatus.PENDING, closes_at__gt=now).count()
        last = mine.aggregate(last=Max("sequence"))["last"] or FIRST_SEQUENCE - 1
        first = max(last, FIRST_SEQUENCE - 1) + 1
        wanted = min(each - open_now, LAST_SEQUENCE - first + 1)
        if each - open_now > 0 and wanted <= 0:
            sys.exit("The bench patients have answered all the PHQ-9s they can: drop the database.")
        rows += [
            QuestionnaireAssignment(
                enrollment_id=patient.enrollment,
                instrument="PHQ-9",
                occasion=Occasion.PROGRAM_STEP,
                sequence=first + k,
                due_from=now - timedelta(minutes=1),
                overdue_after=now + timedelta(days=1),
                closes_at=now + timedelta(days=2),
            )
            for k in range(max(wanted, 0))
        ]
    QuestionnaireAssignment.objects.bulk_create(rows, batch_size=2000)


def busy_ticks() -> int:
    """Jiffies the whole machine spent not idle (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def tree_ticks(root: int) -> int:
    """Jiffies used so far by a process and all its descendants (user + system)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                rest = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(rest[1])
        ticks[int(entry)] = int(rest[11]) + int(rest[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


@dataclass(frozen=True)
class Run:
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    machine_cpu_ms: float
    server_cpu_ms: float
    load_cpu_ms: float


def load(
    write: str, patients: list[Patient], *, port: int, clients: int, seconds: float, server: int
) -> Run:
    """One wrk run: `clients` connections, each writing for its share of `patients` in
    turn (with as many patients as clients, connection i writes for patient i)."""
    rows = [
        (json.dumps(PATHS[write].format(p.enrollment)), json.dumps(p.session), json.dumps(p.csrf))
        for p in patients
    ]
    table = ",".join(f"{{path={path},session={sid},csrf={csrf}}}" for path, sid, csrf in rows)
    script = LUA % {
        "patients": "{" + table + "}",
        "clients": clients,
        "port": port,
        "body": BODIES[write],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        machine, served = busy_ticks(), tree_ticks(server)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        finished = subprocess.run(
            [
                "wrk",
                "-t",
                str(clients),
                "-c",
                str(clients),
                "-d",
                f"{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                lua.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
        )
        if finished.returncode:
            sys.exit(f"wrk failed: {finished.stderr.strip() or finished.stdout.strip()}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        machine, served = busy_ticks() - machine, tree_ticks(server) - served
    finally:
        os.unlink(lua.name)
    line = next(ln for ln in finished.stdout.splitlines() if ln.startswith("WRK "))
    out = json.loads(line[4:])
    n = max(out["requests"], 1)
    load_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(
        requests=out["requests"],
        rate=out["requests"] / (out["duration_us"] / 1e6),
        p50_ms=out["p50_us"] / 1000,
        p99_ms=out["p99_us"] / 1000,
        errors=out["status_errors"] + out["socket_errors"],
        machine_cpu_ms=machine / CLK_TCK * 1000 / n,
        server_cpu_ms=served / CLK_TCK * 1000 / n,
        load_cpu_ms=load_s * 1000 / n,
    )


def describe(run: Run) -> str:
    return (
        f"{run.requests} requests, {run.rate:.0f} req/s, p50 {run.p50_ms:.1f} ms, "
        f"p99 {run.p99_ms:.1f} ms, errors {run.errors}; CPU ms a request: machine "
        f"{run.machine_cpu_ms:.2f}, server {run.server_cpu_ms:.2f}, wrk {run.load_cpu_ms:.2f}"
    )


def median_run(runs: list[Run]) -> Run:
    def med(name: str) -> Any:
        return statistics.median(getattr(r, name) for r in runs)

    return Run(**{name: med(name) for name in Run.__dataclass_fields__})


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if server.poll() is not None:
            sys.exit(f"trellis serve exited with {server.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("trellis serve did not answer within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="load connections")
    parser.add_argument(
        "--patients",
        type=int,
        default=PATIENTS_PER_CLIENT,
        help=f"patients each client writes for, in turn (default {PATIENTS_PER_CLIENT})",
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--writes", default="mood,phq9", help="mood, phq9 or both")
    parser.add_argument("--serial-seconds", type=float, default=5, help="0 to skip")
    args = parser.parse_args()
    writes = [w for w in args.writes.split(",") if w]
    if unknown := set(writes) - set(PATHS):
        sys.exit(f"--writes takes mood and phq9, not {', '.join(sorted(unknown))}")
    if args.patients < 1:
        sys.exit("--patients takes 1 or more")
    patients = prepare(args.patients * args.clients)
    # What a run can answer at most (800/s is twice the budget), spread over the patients.
    open_each = int(800 * args.seconds / len(patients)) + 5
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (open while the server runs)
        "w", prefix="patient-write-", suffix=".log", delete=False
    )
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "trellis", "serve", "--no-collectstatic"),
            *("--workers", str(args.workers), "--port", str(args.port)),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    database = os.environ.get("DATABASE_URL", "sqlite").split(":")[0]
    try:
        wait_until_up(args.port, server)
        for write in writes:
            runs = []
            for n in range(0, args.runs + 1):
                if write == "phq9":
                    top_up_questionnaires(patients, each=open_each)
                # wrk stops at its time with requests still being answered: let them end,
                # or the next run's first requests find them in flight and are shed (503).
                time.sleep(1)
                run = load(
                    write,
                    patients,
                    port=args.port,
                    clients=args.clients,
                    seconds=args.seconds if n else 2,
                    server=server.pid,
                )
                if n:  # run 0 warms up
                    runs.append(run)
                    print(f"{write} run {n}: {describe(run)}", flush=True)
            print(
                f"{write} median of {args.runs} runs ({args.clients} clients, "
                f"{args.patients} patients each, {args.workers} server workers, {database}): "
                f"{describe(median_run(runs))}",
                flush=True,
            )
        if args.serial_seconds:
            for write in writes:
                if write == "phq9":
                    top_up_questionnaires(patients[:1], each=int(400 * args.serial_seconds) + 50)
                run = load(
                    write,
                    patients[:1],
                    port=args.port,
                    clients=1,
                    seconds=args.serial_seconds,
                    server=server.pid,
                )
                print(f"{write} one patient, one client (serial rate): {describe(run)}")
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        print(f"server log (errors are explained there): {log.name}")


if __name__ == "__main__":
    main()
