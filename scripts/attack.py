"""Attack a Trellis server as the trust review did, and print whether each defence held.

    .venv/bin/python scripts/attack.py          # a scratch demo clinic, served for the run
    .venv/bin/python scripts/attack.py --keep   # and keep its directory afterwards

The script builds a demo clinic on SQLite in a scratch directory (`trellis migrate`,
`trellis demo --no-serve`), serves it with `trellis serve`, catches its e-mail with a
local SMTP server, and then attacks it from outside, over HTTP, as a stranger, a patient,
a therapist and an integration token would. Attacks on the stored data (cutting or
rewriting the audit trail, reading the database file) work on copies of the database, as
someone who stole it would. Each case prints HELD or NOT HELD with what was seen; the exit
status is 1 when any case did not hold. docs/security.md maps each case to its tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
TRELLIS = [sys.executable, "-m", "trellis"]
DEMO_PASSWORD = "trellis-demo-garden"  # noqa: S105 (the public demo credential)
MARKER = "Private-words-" + uuid.uuid4().hex[:8]  # typed text that must never be stored plain
THERAPIST = "maria.therapist@riverside.example"
ADMIN = "avery.admin@riverside.example"
PATIENT = "alex@patients.example"
UNKNOWN = "nobody-here@patients.example"


# --- the scratch clinic -----------------------------------------------------------------


class Inbox:
    """An SMTP server that keeps every message it is given (aiosmtpd's handler protocol)."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Clinic:
    directory: Path
    env: dict[str, str]
    url: str
    inbox: Inbox
    server: subprocess.Popen[bytes] | None = None

    @property
    def database(self) -> Path:
        return self.directory / "attack.sqlite3"

    def trellis(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TRELLIS, *args],
            env=env or self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def copy_env(self, name: str) -> dict[str, str]:
        """The environment of a stolen copy of the database (same keys, same anchors)."""
        copy = self.directory / f"{name}.sqlite3"
        connection = sqlite3.connect(self.database)
        with sqlite3.connect(copy) as target:
            connection.backup(target)
        connection.close()
        return {**self.env, "DATABASE_URL": f"sqlite:///{copy}"}


@contextmanager
def scratch_clinic(keep: bool) -> Iterator[Clinic]:
    directory = Path(tempfile.mkdtemp(prefix="trellis-attack-"))
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRELLIS_", "DATABASE_URL", "EMAIL_URL", "REDIS_URL"))
    }
    env.update(
        TRELLIS_ENV="dev",
        TRELLIS_VAR_DIR=str(directory),
        DATABASE_URL=f"sqlite:///{directory / 'attack.sqlite3'}",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        # The attacks come from several addresses, named by the (trusted) proxy header.
        TRELLIS_TRUST_X_FORWARDED_FOR="1",
    )
    clinic = Clinic(directory, env, f"http://127.0.0.1:{port}", inbox)
    try:
        for step in (["migrate", "--no-input", "-v", "0"], ["demo", "--no-serve"]):
            done = clinic.trellis(*step)
            if done.returncode:
                raise SystemExit(f"trellis {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
        clinic.server = subprocess.Popen(
            [*TRELLIS, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(150):
            try:
                requests.get(f"{clinic.url}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise SystemExit("the scratch server never answered")
        yield clinic
    finally:
        if clinic.server is not None:
            clinic.server.terminate()
            clinic.server.wait(timeout=20)
        smtp.stop()
        if keep:
            print(f"\nScratch clinic kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


# --- speaking to it as a browser would ----------------------------------------------------


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_of(page: requests.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    return found.group(1) if found else ""


def post_form(
    browser: requests.Session, url: str, data: dict[str, str], **headers: str
) -> requests.Response:
    """GET the page for its form's CSRF token, then POST the form as the browser would."""
    page = browser.get(url, headers=headers, timeout=10)
    return browser.post(
        url,
        data={**data, "csrfmiddlewaretoken": csrf_of(page)},
        headers={"Referer": url, **headers},
        allow_redirects=False,
        timeout=30,
    )


def sign_in(clinic: Clinic, email: str) -> requests.Session:
    """Sign in with the demo password, then the current TOTP code for staff."""
    browser = requests.Session()
    answer = post_form(
        browser, f"{clinic.url}/accounts/login/", {"email": email, "password": DEMO_PASSWORD}
    )
    if answer.status_code != 302:
        raise SystemExit(f"could not sign in as {email}: {answer.status_code}")
    if "/mfa/" in answer.headers.get("Location", ""):
        code = clinic.trellis("demo", "--totp", email).stdout.strip()
        answer = post_form(browser, f"{clinic.url}/accounts/mfa/verify/", {"code": code})
        if answer.status_code != 302:
            raise SystemExit(f"{email}'s second step was refused: {answer.status_code}")
    browser.headers["X-CSRFToken"] = browser.cookies.get("csrftoken", "")
    return browser


def api(browser: requests.Session, clinic: Clinic, method: str, path: str, **kw: Any) -> Any:
    return browser.request(method, f"{clinic.url}/api/v1{path}", timeout=30, **kw)


# --- the cases ----------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    held: bool
    seen: str


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)

    def check(self, name: str, attack: Callable[[], tuple[bool, str]]) -> None:
        try:
            held, seen = attack()
        except Exception as error:
            held, seen = False, f"the attack itself failed: {error!r}"
        self.cases.append(Case(name, held, seen))
        print(f"{'HELD    ' if held else 'NOT HELD'}  {name}\n          {seen}", flush=True)


def audit_rows(clinic: Clinic) -> int:
    with sqlite3.connect(clinic.database) as db:
        return int(db.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0])


def verify_copy(clinic: Clinic, name: str, tamper_sql: list[str]) -> tuple[bool, str]:
    """Tamper with a copy of the database by hand, then ask `trellis audit verify`."""
    env = clinic.copy_env(name)
    copy = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(copy) as db:
        for statement in tamper_sql:
            db.execute(statement)
    done = clinic.trellis("audit", "verify", env=env)
    said = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode != 0, f"audit verify exit {done.returncode}: {said[-1] if said else ''}"


def recompute_without_key(clinic: Clinic) -> tuple[bool, str]:
    """Rewrite one event's details, its own seal and every chain link after it with plain
    SHA-256, updating the head: what an unkeyed chain cannot tell from the real thing."""
    env = clinic.copy_env("recomputed")
    code = (
        "import hashlib, json\n"
        "from django.db import connection\n"
        "from trellis.audit.chain import canonical, chained_fields\n"
        "from trellis.audit.models import AuditLink\n"
        "from trellis.audit.sealer import seal_pending\n"
        "seal_pending()\n"
        "cursor = connection.cursor()\n"
        "links = list(AuditLink.objects.select_related('event').order_by('position'))\n"
        "links[len(links) // 2].event.details = {'rewritten': True}\n"
        "previous = links[0].prev_mac\n"
        "for link in links:\n"
        "    event = link.event\n"
        "    own = hashlib.sha256(canonical(chained_fields(event)).encode()).hexdigest()\n"
        "    mac = hashlib.sha256(f'{previous}\\n{event.id}\\n{own}'.encode()).hexdigest()\n"
        "    cursor.execute('UPDATE audit_auditevent SET details = %s, hash = %s WHERE id = %s',"
        " [json.dumps(event.details), own, event.id])\n"
        "    cursor.execute('UPDATE audit_auditlink SET prev_mac = %s, mac = %s"
        " WHERE position = %s', [previous, mac, link.position])\n"
        "    previous = mac\n"
        "cursor.execute('UPDATE audit_auditchainhead SET last_hash = %s', [previous])\n"
    )
    done = clinic.trellis("shell", "-c", code, env=env)
    if done.returncode:
        return True, f"the rewrite could not even be written: {done.stderr.strip()[-200:]}"
    verified = clinic.trellis("audit", "verify", env=env)
    said = (verified.stdout + verified.stderr).strip().splitlines()
    return verified.returncode != 0, f"audit verify exit {verified.returncode}: {said[-1]}"


def attack_audit_trail(clinic: Clinic, report: Report) -> None:
    anchored = clinic.trellis("audit", "anchor")
    if anchored.returncode:
        report.check("audit: an anchor is written", lambda: (False, anchored.stderr.strip()))
        return
    report.check(
        "audit: the newest events cut off together with the chain head",
        lambda: verify_copy(
            clinic,
            "truncated",
            [
                "DELETE FROM audit_auditlink"
                " WHERE position > (SELECT max(position) - 5 FROM audit_auditlink)",
                "DELETE FROM audit_auditevent"
                " WHERE id NOT IN (SELECT event_id FROM audit_auditlink)"
                " AND id NOT IN (SELECT event_id FROM audit_auditpending)",
                "DELETE FROM audit_auditchainhead",
            ],
        ),
    )
    report.check(
        "audit: the whole trail emptied",
        lambda: verify_copy(
            clinic,
            "emptied",
            [
                "DELETE FROM audit_auditlink",
                "DELETE FROM audit_auditpending",
                "DELETE FROM audit_auditevent",
                "DELETE FROM audit_auditchainhead",
            ],
        ),
    )
    report.check(
        "audit: one event rewritten and the chain recomputed without the key",
        lambda: recompute_without_key(clinic),
    )


def attack_stored_text(clinic: Clinic, report: Report) -> None:
    def raw_bytes() -> bytes:
        found = b""
        for suffix in ("", "-wal"):
            path = Path(f"{clinic.database}{suffix}")
            if path.exists():
                found += path.read_bytes()
        return found

    def plain_text_at_rest() -> tuple[bool, str]:
        written = MARKER.encode() in raw_bytes()
        return not written, (
            "typed reasons are in the database file in plain text"
            if written
            else "no typed reason appears in the database file (rows or audit details)"
        )

    report.check(
        "free text: typed reasons are not readable in the database file", plain_text_at_rest
    )

    def file_mode() -> tuple[bool, str]:
        mode = stat.S_IMODE(clinic.database.stat().st_mode)
        return mode & 0o077 == 0, f"the database file is {oct(mode)}"

    report.check("files: the database is readable by its owner only", file_mode)


def write_typed_reasons(
    clinic: Clinic, therapist: requests.Session, patient: requests.Session
) -> None:
    """Type the marker into every free-text box the review found stored in plain text."""
    enrollments = api(patient, clinic, "GET", "/journey/enrollments").json()
    enrollment = enrollments[0]["id"]
    times = api(patient, clinic, "GET", f"/sessions/enrollments/{enrollment}/open-times").json()
    # Two sessions: the first is cancelled with a typed reason, the second stays booked
    # (so the supporter's sessions page has a patient on it to read).
    booked = [
        api(
            patient,
            clinic,
            "POST",
            f"/sessions/enrollments/{enrollment}/appointments",
            json={
                "client_id": str(uuid.uuid4()),
                "supporter_id": time_["supporter_id"],
                "starts_at": time_["starts_at"],
                "mode": time_["modes"][0],
            },
        ).json()
        for time_ in times[:2]
    ]
    if booked:
        api(
            patient,
            clinic,
            "POST",
            f"/sessions/appointments/{booked[0]['id']}/cancel",
            json={"reason": f"{MARKER} cancel"},
        )
    alerts = api(therapist, clinic, "GET", "/alerts", params={"state": "live"}).json()
    for alert in alerts:
        if alert["severity"] != "urgent":
            api(
                therapist,
                clinic,
                "POST",
                f"/alerts/{alert['id']}/dismiss",
                json={"reason": f"{MARKER} dismiss"},
            )
            break
    caseload = api(therapist, clinic, "GET", "/care/caseload").json()
    for row in caseload:
        changed = api(
            therapist,
            clinic,
            "POST",
            f"/care/enrollments/{row['enrollment_id']}/step-changes",
            json={"to_level": "therapist", "reason": f"{MARKER} step"},
        )
        if changed.status_code < 300:
            break


def attack_reads(clinic: Clinic, therapist: requests.Session, report: Report) -> None:
    caseload = api(therapist, clinic, "GET", "/care/caseload").json()
    enrollment = caseload[0]["enrollment_id"]
    reads = {
        "care notes (API)": f"/care/enrollments/{enrollment}/notes",
        "caseload (API)": "/care/caseload",
        "alerts with item-9 answers (API)": "/alerts",
        "appointments (API)": f"/sessions/enrollments/{enrollment}/appointments",
    }
    for name, path in reads.items():

        def read_leaves_a_row(path: str = path) -> tuple[bool, str]:
            before = audit_rows(clinic)
            answer = api(therapist, clinic, "GET", path)
            after = audit_rows(clinic)
            return (
                after > before,
                f"GET {path} answered {answer.status_code}, {after - before} audit row(s)",
            )

        report.check(f"reads audited: {name}", read_leaves_a_row)

    def appointments_page() -> tuple[bool, str]:
        before = audit_rows(clinic)
        answer = therapist.get(f"{clinic.url}/clinic/sessions/", timeout=30)
        after = audit_rows(clinic)
        return (
            after > before,
            f"the sessions page answered {answer.status_code}, {after - before} audit row(s)",
        )

    report.check("reads audited: the appointments list page", appointments_page)


def attack_bounds(clinic: Clinic, admin: requests.Session, report: Report) -> None:
    far = {"until": "9999-12-31"}
    for name, url, wanted in (
        ("audit page", f"{clinic.url}/clinic/audit/", 400),
        ("audit CSV", f"{clinic.url}/clinic/audit/export.csv", 400),
        ("audit API", f"{clinic.url}/api/v1/audit/events", 422),
    ):

        def far_future(url: str = url, wanted: int = wanted) -> tuple[bool, str]:
            status = admin.get(url, params=far, timeout=30).status_code
            return status == wanted, f"until=9999-12-31 answered {status} (wanted {wanted})"

        report.check(f"bounds: a far-future date on the {name}", far_future)


def make_token(clinic: Clinic, admin: requests.Session) -> str:
    """A read-write integration token, made on the admin's own page as a clinic would."""
    url = f"{clinic.url}/clinic/tokens/"
    answer = post_form(admin, url, {"name": "attack", "scope": "read_write"})
    page = admin.get(urljoin(url, answer.headers.get("Location", url)), timeout=10).text
    found = re.search(r"trl_[A-Za-z0-9_\-]+", page)
    if not found:
        raise RuntimeError(f"no token shown after creating one ({answer.status_code})")
    return found.group(0)


def attack_token(clinic: Clinic, admin: requests.Session, report: Report) -> None:
    try:
        token = make_token(clinic, admin)
    except RuntimeError as error:
        problem = str(error)
        report.check("token: an admin makes a read-write token", lambda: (False, problem))
        return
    bearer = {"Authorization": f"Bearer {token}"}

    def invite_admin() -> tuple[bool, str]:
        answer = requests.post(
            f"{clinic.url}/api/v1/invitations",
            json={"email": f"new-admin-{uuid.uuid4().hex[:6]}@attack.example", "role": "admin"},
            headers=bearer,
            timeout=30,
        )
        return (
            answer.status_code == 403,
            f"POST /invitations role=admin answered {answer.status_code}",
        )

    report.check("token: a read-write token invites a clinic admin", invite_admin)

    def promote() -> tuple[bool, str]:
        people = requests.get(f"{clinic.url}/api/v1/people", headers=bearer, timeout=30).json()
        coach = next(p for p in people if p["role"] == "coach")
        answer = requests.patch(
            f"{clinic.url}/api/v1/people/{coach['membership_id']}",
            json={"role": "admin"},
            headers=bearer,
            timeout=30,
        )
        return answer.status_code == 403, f"PATCH a coach to admin answered {answer.status_code}"

    report.check("token: a read-write token promotes someone to admin", promote)


def attack_openapi(clinic: Clinic, report: Report) -> None:
    document = requests.get(f"{clinic.url}/api/v1/openapi.json", timeout=30).json()

    def declares_errors() -> tuple[bool, str]:
        """401 everywhere; 404 wherever the path names a record; 422 wherever the caller
        sends parameters or a body; each refusal with the one error body."""
        silent = []
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                wanted = {"401"}
                if "{" in path:
                    wanted.add("404")
                if operation.get("parameters") or operation.get("requestBody"):
                    wanted.add("422")
                responses = operation.get("responses", {})
                bodiless = [
                    status
                    for status in wanted & set(responses)
                    if "content" not in responses[status]
                ]
                if not wanted <= set(responses) or bodiless:
                    silent.append(f"{method.upper()} {path}")
        return not silent, f"{len(silent)} operation(s) leave out a refusal: {silent[:3]}"

    report.check("API document: every operation declares its refusals", declares_errors)


def attack_sign_in(clinic: Clinic, report: Report) -> None:
    def answer_for(email: str, tries: int, address: str) -> list[tuple[int, str]]:
        browser = requests.Session()
        seen = []
        for _ in range(tries):
            answer = post_form(
                browser,
                f"{clinic.url}/accounts/login/",
                {"email": email, "password": "wrong-password-123"},
                **{"X-Forwarded-For": address},
            )
            text = CSRF_FIELD.sub("", answer.text)
            text = re.sub(re.escape(email), "EMAIL", text)
            seen.append((answer.status_code, text))
        return seen

    known = answer_for(PATIENT, 50, "203.0.113.10")
    unknown = answer_for(UNKNOWN, 50, "203.0.113.11")

    def same_answers() -> tuple[bool, str]:
        differing = [n for n in (5, 10, 50) if known[n - 1] != unknown[n - 1]]
        statuses = {n: (known[n - 1][0], unknown[n - 1][0]) for n in (5, 10, 50)}
        return not differing, f"(known, unknown) status on try 5/10/50: {statuses}"

    report.check("sign-in: a known and an unknown e-mail get the same answers", same_answers)

    def owner_still_signs_in() -> tuple[bool, str]:
        browser = requests.Session()
        answer = post_form(
            browser,
            f"{clinic.url}/accounts/login/",
            {"email": PATIENT, "password": DEMO_PASSWORD},
            **{"X-Forwarded-For": "198.51.100.7"},
        )
        return answer.status_code == 302, f"the owner's own sign-in answered {answer.status_code}"

    report.check("sign-in: 50 wrong passwords do not lock the owner out", owner_still_signs_in)

    def spray_is_slowed() -> tuple[bool, str]:
        browser = requests.Session()
        statuses = []
        for n in range(20):
            answer = post_form(
                browser,
                f"{clinic.url}/accounts/login/",
                {"email": f"spray{n}@patients.example", "password": "wrong-password-123"},
                **{"X-Forwarded-For": "192.0.2.55"},
            )
            statuses.append(answer.status_code)
        throttled = sum(1 for status in statuses if status == 429)
        return throttled > 0, f"20 e-mails from one address: {throttled} throttled (429)"

    report.check("sign-in: one address trying 20 e-mails is slowed", spray_is_slowed)

    def reset_flood() -> tuple[bool, str]:
        before = clinic.inbox.recipients.count(PATIENT)
        browser = requests.Session()
        for _ in range(31):
            post_form(
                browser,
                f"{clinic.url}/accounts/password-reset/",
                {"email": PATIENT},
                **{"X-Forwarded-For": "192.0.2.99"},
            )
        sent = clinic.inbox.recipients.count(PATIENT) - before
        return sent <= 5, f"31 reset requests in a minute sent {sent} mail(s) to the patient"

    report.check("password reset: 31 requests for one person", reset_flood)


def attack_serve(clinic: Clinic, report: Report) -> None:
    def production_with_development_keys() -> tuple[bool, str]:
        env = {
            **clinic.env,
            "TRELLIS_ENV": "production",
            "TRELLIS_ALLOWED_HOSTS": "trellis.example.org",
            "EMAIL_URL": "console://",
        }
        done = clinic.trellis("serve", "--port", str(free_port()), "--no-collectstatic", env=env)
        return (
            done.returncode != 0,
            f"exit {done.returncode}: {done.stderr.strip().splitlines()[0]}",
        )

    report.check(
        "serve: production with development keys and console e-mail",
        production_with_development_keys,
    )

    def without_env() -> tuple[bool, str]:
        env = {k: v for k, v in clinic.env.items() if k != "TRELLIS_ENV"}
        done = clinic.trellis("serve", "--port", str(free_port()), env=env)
        return (
            done.returncode != 0,
            f"exit {done.returncode}: {done.stderr.strip().splitlines()[0]}",
        )

    report.check("serve: TRELLIS_ENV unset", without_env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch clinic's directory")
    args = parser.parse_args()
    report = Report()
    started = time.monotonic()
    with scratch_clinic(args.keep) as clinic:
        print(f"A scratch demo clinic serves on {clinic.url}\n", flush=True)
        therapist = sign_in(clinic, THERAPIST)
        admin = sign_in(clinic, ADMIN)
        patient = sign_in(clinic, PATIENT)
        write_typed_reasons(clinic, therapist, patient)
        attack_reads(clinic, therapist, report)
        attack_bounds(clinic, admin, report)
        attack_token(clinic, admin, report)
        attack_openapi(clinic, report)
        attack_sign_in(clinic, report)
        attack_stored_text(clinic, report)
        attack_audit_trail(clinic, report)
        attack_serve(clinic, report)
    failed = [case for case in report.cases if not case.held]
    print(
        f"\n{len(report.cases) - len(failed)} of {len(report.cases)} held "
        f"({time.monotonic() - started:.0f} s)."
    )
    print(json.dumps({"held": len(report.cases) - len(failed), "not_held": len(failed)}))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
