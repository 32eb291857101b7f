"""Sending throughput of the nudges worker: deliveries per second, duplicates and losses.

Creates a throw-away test database on PostgreSQL (DATABASE_URL), 20,000 enrollments and
100,000 due reminders (four e-mails and one text message per enrollment by default, all
written with set-based bulk inserts), then for each run starts a local SMTP sink and the
fake SMS provider (each in a process of its own, counting what they accepted), starts two
`trellis worker` processes and enqueues one sending task per worker, and times until no
reminder is left queued. Duplicates are messages accepted more than once (by Message-ID
for e-mail, by recipient number for texts: each patient gets one text); losses are
reminders that never arrived. Prints each run and the median of the runs.

    TRELLIS_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis \\
        .venv/bin/python bench/nudges.py --runs 3

    # the same on the distributed queue (Celery on the Redis of this machine):
    ... bench/nudges.py --runs 3 --backend celery --broker redis://127.0.0.1:6379/11

Target: at least 1,000 deliveries per second with 2 workers, 0 duplicates, 0 losses.

Each run also prints the CPU milliseconds a delivery costs the workers, the sinks and the
rest of the machine (PostgreSQL above all). `--floor` prints what the machine does with no
Trellis in the way: one ready-made e-mail sent again and again over one SMTP connection
to the same sink, and the CPU each message costs the sender and the sink.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

WORKER = [sys.executable, "-m", "trellis", "worker", "--verbosity", "0"]
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# --- the sinks, each run as `python bench/nudges.py --serve-smtp|--serve-sms OUT` --------


def serve_smtp(out: Path) -> None:
    """A local SMTP server that accepts every message and counts them by Message-ID."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    counts: Counter[str] = Counter()

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            found = MESSAGE_ID.search(envelope.content)
            counts[found.group(1).decode() if found else "?"] += 1
            return "250 Accepted"

    from trellis.core.testing import free_port

    port = free_port()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print(json.dumps({"port": port}), flush=True)
    wait_for_stop()
    controller.stop()
    out.write_text(json.dumps(counts))


def serve_sms(out: Path) -> None:
    """The fake SMS provider (its HTTP API); counts accepted texts by recipient number."""
    from trellis.nudges.tests.fake_sms_provider import FakeSmsProvider

    provider = FakeSmsProvider().start()
    print(json.dumps(provider.settings()), flush=True)
    wait_for_stop()
    counts = Counter(m.to for m in provider.messages)
    provider.stop()
    out.write_text(json.dumps(counts))


def wait_for_stop() -> None:
    stopped: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))
    while not stopped:
        time.sleep(0.1)


class Sink:
    """A sink process and what it counted."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.out = workdir / f"{kind}-{time.monotonic_ns()}.json"
        self.process = subprocess.Popen(
            [sys.executable, __file__, f"--serve-{kind}", str(self.out)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "trellis.settings"},
        )
        assert self.process.stdout is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())

    def stop(self) -> Counter[str]:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        return Counter(json.loads(self.out.read_text()))


# --- the data ------------------------------------------------------------------------


def build(enrollments: int) -> Any:
    """A clinic reachable at any hour and `enrollments` patients, each enrolled, in bulk."""
    from datetime import time as clock

    from trellis.accounts.models import User
    from trellis.care.models import Enrollment, SupportLevel
    from trellis.core import timeutil
    from trellis.demo import personas
    from trellis.journey.tests.factories import publish_test_pack
    from trellis.nudges.models import OutreachSettings

    cast = personas.build()
    clinic = cast.clinics["riverside"]
    OutreachSettings.objects.update_or_create(
        organization=clinic,
        defaults={
            "allowed_from": clock(0, 0),
            "allowed_until": clock(23, 59, 59, 999999),
            "daily_cap": 20,
            "weekly_cap": 50,
        },
    )
    version = publish_test_pack()
    now = timeutil.now()
    users = User.objects.bulk_create(
        [
            User(
                email=f"bench{n}@patients.example",
                full_name=f"Bench Patient {n}",
                password="!",  # noqa: S106 (an unusable password: these people never sign in)
                phone=f"+1555{n:07d}",
            )
            for n in range(enrollments)
        ],
        batch_size=2000,
    )
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                patient=user,
                organization=clinic,
                program_version=version,
                support_level=SupportLevel.COACHED,
                started_at=now,
            )
            for user in users
        ],
        batch_size=2000,
    )
    return clinic


def queue_reminders(clinic: Any, per_enrollment: int, sms: bool) -> dict[str, set[str]]:
    """The due reminders, inserted in one statement; what each sink should receive."""
    from django.db import connection

    from trellis.nudges import tokens

    emails = per_enrollment - 1 if sms else per_enrollment
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM nudges_delivery WHERE key LIKE 'bench:%%'")
        cursor.execute(
            """
            INSERT INTO nudges_delivery (
                id, created_at, updated_at, key, organization_id, recipient_id,
                enrollment_id, channel, template, context, status, reason, provider_id,
                attempts, not_before, claimed_by
            )
            SELECT gen_random_uuid(), now(), now(),
                   'bench:' || e.id || ':' || n || ':' || c.channel,
                   e.organization_id, e.patient_id, e.id, c.channel, 'exercise_today',
                   '{}'::jsonb, 'queued', '', '', 0, now() - interval '1 minute', ''
            FROM care_enrollment e
            CROSS JOIN generate_series(1, %s) AS n
            JOIN (VALUES ('email'), ('sms')) AS c(channel)
              ON c.channel = CASE WHEN %s AND n = %s THEN 'sms' ELSE 'email' END
            WHERE e.organization_id = %s
            """,
            [per_enrollment, sms, per_enrollment, clinic.pk],
        )
        cursor.execute("SELECT d.key, d.channel FROM nudges_delivery d WHERE d.key LIKE 'bench:%%'")
        rows = cursor.fetchall()
    from trellis.accounts.models import User

    phones = {str(u.pk): u.phone for u in User.objects.filter(email__startswith="bench")}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT recipient_id FROM nudges_delivery WHERE key LIKE 'bench:%%' AND channel = 'sms'"
        )
        texted = {phones[str(r)] for (r,) in cursor.fetchall()}
    assert len(rows) == (emails + (1 if sms else 0)) * len(phones)
    return {
        "email": {tokens.message_id(key) for key, channel in rows if channel == "email"},
        "sms": texted,
    }


# --- where the machine's time goes ---------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu() -> float:
    """CPU seconds all cores of the machine have been busy since boot."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / TICKS


# --- the floor: what the machine does with no Trellis in the way ----------------------


def floor(messages: int, workdir: Path) -> dict[str, float]:
    """Send one ready-made e-mail `messages` times over one SMTP connection to the same
    sink, with no database, no decision and no rendering: the most a sending loop in
    Python can do here, and the sink's own CPU for each message."""
    import smtplib
    from email import policy
    from email.message import EmailMessage

    sink = Sink("smtp", workdir)
    message = EmailMessage()
    message["From"] = "Trellis <no-reply@trellis.example>"
    message["To"] = "patient@patients.example"
    message["Subject"] = "Today's step is ready"
    message["Message-ID"] = "<floor@trellis.example>"
    message.set_content("Hello,\n\nToday's step in your program is ready.\n" * 3)
    message.add_alternative("<p>Today's step in your program is ready.</p>\n" * 20, subtype="html")
    started_cpu = time.process_time()
    data = b""
    for _ in range(messages):
        data = message.as_bytes(policy=policy.SMTP)
    build_cpu = time.process_time() - started_cpu
    smtp = smtplib.SMTP("127.0.0.1", sink.info["port"])
    sink_before = process_cpu(sink.process.pid)
    started_cpu, started = time.process_time(), time.monotonic()
    for _ in range(messages):
        smtp.sendmail("no-reply@trellis.example", ["patient@patients.example"], data)
    elapsed = time.monotonic() - started
    client_cpu = time.process_time() - started_cpu
    sink_cpu = process_cpu(sink.process.pid) - sink_before
    smtp.quit()
    sink.stop()
    return {
        "per_second": messages / elapsed,
        "build_ms": 1000 * build_cpu / messages,
        "client_ms": 1000 * client_cpu / messages,
        "sink_ms": 1000 * sink_cpu / messages,
    }


# --- one run -------------------------------------------------------------------------


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] or "postgres"
    if s.get("PASSWORD"):
        auth += ":" + s["PASSWORD"]
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def one_run(args: argparse.Namespace, clinic: Any, workdir: Path) -> dict[str, Any]:
    from django.db import connection

    from trellis.core.celery_backend import CeleryBackend
    from trellis.nudges.tasks import send_deliveries

    expected = queue_reminders(clinic, args.per_enrollment, args.sms)
    total = len(expected["email"]) + len(expected["sms"])
    smtp = Sink("smtp", workdir)
    sms = Sink("sms", workdir)
    env = {
        **os.environ,
        "TRELLIS_ENV": "test",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.info['port']}",
        "TRELLIS_SMS_BASE_URL": sms.info["BASE_URL"],
        "TRELLIS_SMS_ACCOUNT": sms.info["ACCOUNT"],
        "TRELLIS_SMS_TOKEN": sms.info["TOKEN"],
        "TRELLIS_SMS_FROM": sms.info["FROM"],
        "TRELLIS_TASK_BACKEND": args.backend,
        "TRELLIS_BROKER_URL": args.broker,
        "TRELLIS_NUDGES_BATCH": str(args.batch),
        "TRELLIS_VAR_DIR": str(workdir),
        "TRELLIS_AUDIT_ANCHOR_FILE": str(workdir / "anchors.jsonl"),
    }
    workers = [
        subprocess.Popen(
            [*WORKER, "--worker-id", f"bench-{n}", "--no-startup-delay", "--interval", "0.1"],
            cwd=ROOT,
            env=env,
            stdout=(workdir / f"worker-{n}.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        for n in range(args.workers)
    ]
    try:
        time.sleep(4)  # the workers start (Django, the broker connection)
        started = time.monotonic()
        parts = {
            "workers": [w.pid for w in workers],
            "sinks": [smtp.process.pid, sms.process.pid],
        }
        cpu_before = {k: sum(process_cpu(p) for p in pids) for k, pids in parts.items()}
        machine_before = machine_cpu()
        for _ in range(args.workers):
            if args.backend == "celery":
                queue = CeleryBackend("bench", {"OPTIONS": {"BROKER_URL": args.broker}})
                queue.enqueue(send_deliveries, [3600.0], {})
            else:
                send_deliveries.enqueue(3600.0)
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM nudges_delivery WHERE key LIKE 'bench:%%' "
                    "AND status = 'queued'"
                )
                (left,) = cursor.fetchone()
            if left == 0:
                break
            if time.monotonic() - started > args.timeout:
                print(f"  timed out with {left} still queued", file=sys.stderr)
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        cpu = {k: sum(process_cpu(p) for p in pids) - cpu_before[k] for k, pids in parts.items()}
        cpu["machine"] = machine_cpu() - machine_before
        cpu["database and the rest"] = cpu["machine"] - cpu["workers"] - cpu["sinks"]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM nudges_delivery WHERE key LIKE 'bench:%%' GROUP BY status"
        )
        statuses = dict(cursor.fetchall())
    got = {"email": smtp.stop(), "sms": sms.stop()}
    duplicates = sum(n - 1 for counts in got.values() for n in counts.values() if n > 1)
    losses = sum(len(expected[k] - set(got[k])) for k in expected)
    return {
        "deliveries": total,
        "seconds": elapsed,
        "per_second": total / elapsed,
        "duplicates": duplicates,
        "losses": losses,
        "statuses": statuses,
        "cpu_ms": {k: round(1000 * v / total, 2) for k, v in cpu.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--enrollments", type=int, default=20_000)
    parser.add_argument("--per-enrollment", type=int, default=5)
    parser.add_argument("--no-sms", dest="sms", action="store_false")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backend", choices=["database", "celery"], default="database")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument(
        "--floor",
        action="store_true",
        help="only the floor: a ready-made e-mail sent again and again to the sink",
    )
    parser.add_argument("--serve-smtp", type=Path)
    parser.add_argument("--serve-sms", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    if args.serve_smtp:
        serve_smtp(args.serve_smtp)
        return
    if args.serve_sms:
        serve_sms(args.serve_sms)
        return
    if args.floor:
        runs = []
        with tempfile.TemporaryDirectory() as workdir:
            for n in range(args.runs):
                runs.append(floor(5000, Path(workdir)))
                print(
                    f"floor run {n + 1}: {runs[-1]['per_second']:.0f} e-mails/s from one "
                    f"process; CPU milliseconds an e-mail: building {runs[-1]['build_ms']:.2f}, "
                    f"sending {runs[-1]['client_ms']:.2f}, the sink {runs[-1]['sink_ms']:.2f}",
                    flush=True,
                )
        print(
            "median: "
            + ", ".join(f"{k} {statistics.median(r[k] for r in runs):.2f}" for k in runs[0])
        )
        return

    from django.db import connection
    from django.test.utils import setup_test_environment

    if connection.vendor != "postgresql":
        sys.exit("bench/nudges.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    if args.backend == "celery":
        import redis

        redis.Redis.from_url(args.broker).flushdb()
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.monotonic()
        clinic = build(args.enrollments)
        print(
            f"{args.enrollments} enrollments built in {time.monotonic() - started:.0f} s; "
            f"{args.workers} workers on the {args.backend} queue"
        )
        results = []
        with tempfile.TemporaryDirectory() as workdir:
            for n in range(args.runs):
                result = one_run(args, clinic, Path(workdir))
                results.append(result)
                print(
                    f"run {n + 1}: {result['deliveries']} deliveries in "
                    f"{result['seconds']:.1f} s = {result['per_second']:.0f}/s, "
                    f"{result['duplicates']} duplicates, {result['losses']} losses "
                    f"{result['statuses']}",
                    flush=True,
                )
                print(
                    "  CPU milliseconds a delivery: "
                    + ", ".join(f"{k} {v}" for k, v in result["cpu_ms"].items()),
                    flush=True,
                )
        print(
            f"median of {args.runs} runs: "
            f"{statistics.median(r['per_second'] for r in results):.0f} deliveries/s, "
            f"{statistics.median(r['duplicates'] for r in results):.0f} duplicates, "
            f"{statistics.median(r['losses'] for r in results):.0f} losses "
            f"({args.workers} workers, {args.backend} queue, {connection.vendor})"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
