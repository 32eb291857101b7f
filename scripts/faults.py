"""Faults, shown with real processes: the SMTP server down, and PostgreSQL restarted under load.

    # Reminders queued while the SMTP server is down: retried with backoff, none lost,
    # none twice once it is back (uses a throw-away test database on DATABASE_URL).
    TRELLIS_ENV=test DATABASE_URL=postgres://postgres@127.0.0.1:5432/trellis \\
        .venv/bin/python scripts/faults.py smtp-down --reminders 200

    # PostgreSQL restarted (pg_ctl restart -m fast) while clients post mood check-ins:
    # a private cluster in a temporary folder on a free port (never the shared server).
    .venv/bin/python scripts/faults.py postgres-restart --clients 8 --seconds 30

Each prints its figures; see docs/performance.md, "Faults".
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from glob import glob
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "-m", "trellis", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- SMTP down --------------------------------------------------------------------------


class Sink:
    """An SMTP server on a chosen port, in this process, counting messages by Message-ID."""

    def __init__(self, port: int) -> None:
        import logging

        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)

        from bench.nudges import MESSAGE_ID

        self.counts: Counter[str] = Counter()
        self.first_at: float | None = None
        counts = self.counts

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                found = MESSAGE_ID.search(envelope.content)
                counts[found.group(1).decode() if found else "?"] += 1
                if sink.first_at is None:
                    sink.first_at = time.monotonic()
                return "250 Accepted"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def smtp_down(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    from bench.nudges import build, database_url, queue_reminders

    if connection.vendor != "postgresql":
        sys.exit("scripts/faults.py smtp-down needs PostgreSQL: set DATABASE_URL=postgres://...")
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    workdir = Path(tempfile.mkdtemp(prefix="faults-smtp-"))
    try:
        clinic = build(args.reminders)
        expected = queue_reminders(clinic, 1, sms=False)["email"]
        port = free_port()  # nothing listens here yet: the SMTP server is down
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "TRELLIS_AUDIT_ANCHOR_FILE": str(workdir / "anchors.jsonl"),
        }
        worker = start(
            ["worker", "--worker-id", "faults", "--no-startup-delay", "--interval", "0.5"],
            env,
            workdir / "worker.log",
        )
        clock = start(["clock", "--interval", "5"], env, workdir / "clock.log")
        began = time.monotonic()
        print(f"{len(expected)} e-mail reminders queued; SMTP server down (port {port})")

        def statuses() -> dict[str, Any]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT status, count(*), min(attempts), max(attempts), "
                    "min(next_attempt_at - now()) FROM nudges_delivery "
                    "WHERE key LIKE 'bench:%%' GROUP BY status"
                )
                return {row[0]: row[1:] for row in cursor.fetchall()}

        sink = None
        try:
            while True:  # every reminder tried at least once and waiting to retry
                now = statuses()
                queued = now.get("queued")
                if queued and queued[1] >= 1 and len(now) == 1:
                    break
                if time.monotonic() - began > args.timeout:
                    sys.exit(f"the worker did not try every reminder: {now}")
                time.sleep(0.5)
            tried = time.monotonic() - began
            print(
                f"after {tried:.1f} s every reminder was tried and is queued again: "
                f"{queued[0]} queued, attempts {queued[1]}-{queued[2]}, "
                f"the next retry in {queued[3]} or more (backoff)"
            )
            time.sleep(args.down_for)
            before = statuses()
            attempts = ", ".join(f"{s}: attempts {v[1]}-{v[2]}" for s, v in before.items())
            print(f"SMTP down for {time.monotonic() - began:.0f} s in all; {attempts}")
            sink = Sink(port)
            back = time.monotonic()
            print("SMTP server started again")
            while statuses().get("queued"):
                if time.monotonic() - back > args.timeout:
                    break
                time.sleep(0.5)
            done = time.monotonic()
        finally:
            stop(clock, worker)
            if sink is not None:
                sink.stop()
        final = statuses()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT attempts, count(*) FROM nudges_delivery WHERE key LIKE 'bench:%%' "
                "GROUP BY attempts ORDER BY attempts"
            )
            by_attempts = dict(cursor.fetchall())
        got = sink.counts if sink else Counter()
        lost = len(expected - set(got))
        twice = sum(n - 1 for n in got.values() if n > 1)
        first = (sink.first_at - back) if sink and sink.first_at else float("nan")
        print(
            f"after the SMTP server returned: the first e-mail arrived in {first:.1f} s, "
            f"the last reminder left the queue in {done - back:.1f} s"
        )
        print(
            f"final: {dict((k, v[0]) for k, v in final.items())}; reminders by attempts "
            f"{by_attempts}; the sink accepted {sum(got.values())} e-mails for "
            f"{len(expected)} reminders: {lost} lost, {twice} twice"
        )
        if lost or twice or set(final) != {"sent"}:
            sys.exit(1)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(workdir, ignore_errors=True)


# --- PostgreSQL restarted during load ---------------------------------------------------


class Cluster:
    """A private PostgreSQL cluster in a temporary folder, on a free port, owned by the
    `postgres` account (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        found = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            sys.exit("no pg_ctl under /usr/lib/postgresql/*/bin/")
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self._ctl("start")

    def _run(self, tool: str, *args: str) -> float:
        began = time.monotonic()
        subprocess.run(
            [*self.as_owner, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.monotonic() - began

    def _ctl(self, *args: str) -> float:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        return self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "postgres.log"),
            "-o",
            options,
            "-w",
            *args,
        )

    def restart(self) -> float:
        return self._ctl("restart", "-m", "fast")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def prepare_patients(count: int) -> list[dict[str, str]]:
    """Migrate, seed, enroll `count` patients; their sessions and enrollments."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.middleware.csrf import _get_new_csrf_string  # type: ignore[attr-defined]

    from trellis.accounts.models import Role
    from trellis.accounts.services import create_person
    from trellis.care.models import SupportLevel
    from trellis.core import timeutil
    from trellis.demo import personas
    from trellis.journey.tests.factories import publish_test_pack
    from trellis.onboarding.services.invitations import enroll_patient

    call_command("migrate", verbosity=0)
    cast = personas.build()
    version = publish_test_pack()
    people = []
    for n in range(count):
        member = create_person(
            organization=cast.clinics["riverside"],
            email=f"restart{n}@patients.example",
            full_name=f"Patient {n}",
            role=Role.PATIENT,
            actor=None,
        )
        enrollment = enroll_patient(
            patient=member.user,
            program_version=version,
            support_level=SupportLevel.COACHED,
            supporters=[cast["therapist_maria"]],
            actor=cast["therapist_maria"],
            now=timeutil.now(),
        )
        store = SessionStore()
        store[SESSION_KEY] = str(member.user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = member.user.get_session_auth_hash()
        store.create()
        people.append(
            {
                "cookie": store.session_key or "",
                "csrf": _get_new_csrf_string(),
                "enrollment": str(enrollment.pk),
            }
        )
    return people


class Load:
    """Clients posting mood check-ins, one patient each. A check-in that does not get a
    2xx is sent again with the same client id (as the app does) until it does."""

    def __init__(self, port: int, people: list[dict[str, str]]) -> None:
        self.port = port
        self.people = people
        self.lock = threading.Lock()
        self.log: list[tuple[float, int, str, str, str]] = []  # (at, status, retry, cid, enr)
        self.accepted: set[tuple[str, str]] = set()
        self.stopping = threading.Event()

    def client(self, person: dict[str, str]) -> None:
        headers = {
            "Content-Type": "application/json",
            "Cookie": f"sessionid={person['cookie']}; csrftoken={person['csrf']}",
            "X-CSRFToken": person["csrf"],
            "Referer": f"http://127.0.0.1:{self.port}/",
        }
        path = f"/api/v1/journey/enrollments/{person['enrollment']}/moods"
        client_id = str(uuid.uuid4())
        while not self.stopping.is_set():
            body = json.dumps({"client_id": client_id, "score": 5, "note": ""})
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status, retry = response.status, response.getheader("Retry-After") or ""
                conn.close()
            except OSError as error:
                status, retry = 0, type(error).__name__
            with self.lock:
                self.log.append((time.monotonic(), status, retry, client_id, person["enrollment"]))
                if 200 <= status < 300:
                    self.accepted.add((person["enrollment"], client_id))
            if 200 <= status < 300:
                client_id = str(uuid.uuid4())
            else:
                time.sleep(0.2)
        # Sent once more after the run: a repeat of the last accepted one must not duplicate.

    def run(self, seconds: float, during: Any) -> None:
        threads = [threading.Thread(target=self.client, args=(p,)) for p in self.people]
        for t in threads:
            t.start()
        during()
        time.sleep(seconds)
        self.stopping.set()
        for t in threads:
            t.join()


def consistency(url: str, accepted: set[tuple[str, str]]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        moods = conn.execute(
            "SELECT id, enrollment_id, client_id FROM journey_moodcheckin"
        ).fetchall()
        events = dict(
            conn.execute(
                "SELECT enrollment_id, count(*) FROM journey_engagementevent "
                "WHERE type = 'mood_checkin' GROUP BY enrollment_id"
            ).fetchall()
        )
        audited = {
            r[0]
            for r in conn.execute(
                "SELECT object_id FROM audit_auditevent WHERE action = 'mood.create'"
            ).fetchall()
        }
    stored = {(str(e), str(c)) for _id, e, c in moods}
    per_enrollment = Counter(str(e) for _id, e, _c in moods)
    return {
        "check-ins stored": len(moods),
        "2xx answered": len(accepted),
        "2xx but not stored": len(accepted - stored),
        "stored without an answer seen (committed, answer lost)": len(stored - accepted),
        "stored without their audit row": sum(1 for m in moods if str(m[0]) not in audited),
        "audit rows without a check-in": len(audited - {str(m[0]) for m in moods}),
        "enrollments whose event count differs from their check-ins": sum(
            1
            for e in set(per_enrollment) | {str(k) for k in events}
            if per_enrollment.get(e, 0) != events.get(uuid.UUID(e), events.get(e, 0))
        ),
        "client ids stored twice": len(moods) - len({(str(e), str(c)) for _i, e, c in moods}),
    }


def postgres_restart(args: argparse.Namespace) -> None:
    cluster = Cluster()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [
                *cluster.as_owner,
                str(cluster.bin / "createdb"),
                *("-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres"),
                "trellis_faults",
            ],
            check=True,
        )
        url = cluster.url("trellis_faults")
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("TRELLIS_ENV", "dev")
        people = prepare_patients(args.clients)
        port = free_port()
        env = {
            **os.environ,
            "TRELLIS_DEBUG": "0",
            "TRELLIS_AUDIT_ANCHOR_FILE": str(cluster.dir / "anchors.jsonl"),
        }
        server = start(
            ["serve", "--workers", str(args.workers), "--port", str(port)],
            env,
            cluster.dir / "server.log",
        )
        processes.append(server)
        for _ in range(300):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        load = Load(port, people)
        marks: dict[str, float] = {}

        def restart_later() -> None:
            time.sleep(args.seconds / 3)
            marks["restart"] = time.monotonic()
            marks["restart_took"] = cluster.restart()
            marks["restarted"] = time.monotonic()

        restarter = threading.Thread(target=restart_later)
        load.run(args.seconds, restarter.start)
        restarter.join()
        failed = [(at, s, r) for at, s, r, _c, _e in load.log if not 200 <= s < 300]
        statuses = Counter(s for _at, s, _r in failed)
        retry_after = Counter(r for _at, s, r in failed if s == 503)
        last_failure = max((at for at, _s, _r in failed), default=marks["restart"])
        ok = [at for at, s, _r, _c, _e in load.log if 200 <= s < 300]
        print(
            f"{len(load.log)} requests from {args.clients} clients in {args.seconds:.0f} s; "
            f"PostgreSQL restarted at {marks['restart'] - load.log[0][0]:.1f} s "
            f"(pg_ctl restart -m fast took {marks['restart_took']:.1f} s)"
        )
        print(
            f"failed: {len(failed)} (statuses {dict(statuses)}, "
            f"Retry-After on the 503s {dict(retry_after)})"
        )
        first_ok_after = min((at for at in ok if at > last_failure), default=float("nan"))
        print(
            f"the last failure {last_failure - marks['restarted']:+.1f} s from PostgreSQL being "
            f"back; requests succeed again {first_ok_after - marks['restart']:.1f} s after the "
            f"restart began, without restarting Trellis"
        )
        # A repeat of an accepted client id is answered with the first check-in.
        enrollment, client_id = next(iter(load.accepted))
        person = next(p for p in people if p["enrollment"] == enrollment)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "POST",
            f"/api/v1/journey/enrollments/{enrollment}/moods",
            body=json.dumps({"client_id": client_id, "score": 5, "note": ""}),
            headers={
                "Content-Type": "application/json",
                "Cookie": f"sessionid={person['cookie']}; csrftoken={person['csrf']}",
                "X-CSRFToken": person["csrf"],
                "Referer": f"http://127.0.0.1:{port}/",
            },
        )
        print(f"a repeated client id answered {conn.getresponse().status}")
        figures = consistency(url, load.accepted)
        for name, value in figures.items():
            print(f"  {name}: {value}")
        bad = (
            figures["2xx but not stored"]
            + figures["stored without their audit row"]
            + figures["audit rows without a check-in"]
            + figures["enrollments whose event count differs from their check-ins"]
            + figures["client ids stored twice"]
        )
        print("nothing half-written" if bad == 0 else "HALF-WRITTEN ROWS FOUND")
        print(f"median request rate: {statistics.median([len(ok) / args.seconds]):.0f}/s")
        if bad:
            sys.exit(1)
    finally:
        stop(*processes)
        cluster.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="fault", required=True)
    smtp = sub.add_parser("smtp-down", help="reminders while the SMTP server is down")
    smtp.add_argument("--reminders", type=int, default=200)
    smtp.add_argument("--down-for", type=float, default=10, help="seconds down after 1st try")
    smtp.add_argument("--timeout", type=float, default=600)
    pg = sub.add_parser("postgres-restart", help="PostgreSQL restarted during load")
    pg.add_argument("--clients", type=int, default=8)
    pg.add_argument("--seconds", type=float, default=30)
    pg.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.fault == "smtp-down":
        smtp_down(args)
    else:
        postgres_restart(args)


if __name__ == "__main__":
    main()
