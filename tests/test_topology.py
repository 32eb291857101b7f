"""Trellis on more than one process, on this machine: nginx with TLS in front of two web
processes, two Celery workers on Redis and the clock, all on PostgreSQL
(scripts/topology.py, with deploy/nginx's own files). A short clinic day goes through the
proxy over HTTPS with the throw-away CA verified, with no error; then one web process is
killed and the next requests still succeed, nginx sending them to the other one.

And the clock run twice at once, as two real `trellis clock --once` processes: each
periodic job is enqueued once.

Both need PostgreSQL (and the first nginx and Redis): they skip without them on a laptop
and fail in CI (TRELLIS_REQUIRE_SERVICES=1). On failure every process's log is printed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis
import requests
from django.db import connection
from django_tasks_db.models import DBTaskResult

from trellis import audit
from trellis.audit.integrity import verify_chain
from trellis.audit.models import AuditLink, AuditPending
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.core import periodic, timeutil
from trellis.core.models import PeriodicRun
from trellis.core.testing import current_totp, need_postgres, need_service, port_open
from trellis.demo import personas
from trellis.demo.alerts import seed_supporter_workspace
from trellis.demo.journeys import seed_journeys
from trellis.measures.queries import due_for
from trellis.programs.instruments import all_instruments

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("topology", ROOT / "scripts" / "topology.py")
assert _spec is not None and _spec.loader is not None
topology = importlib.util.module_from_spec(_spec)
sys.modules["topology"] = topology
_spec.loader.exec_module(topology)

pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    """The test database, as the processes reach it."""
    name = connection.settings_dict["NAME"]
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def redis_url() -> str:
    """A Redis database of this test's own (12 to 15, one per parallel test process)."""
    base = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return f"redis://{base.netloc}/{12 + int(worker.removeprefix('gw') or 0) % 4}"


@pytest.fixture
def running(cast: personas.Cast) -> Iterator[Any]:
    need_postgres()
    need_service(topology.nginx_binary() is not None, "nginx (apt-get install nginx)")
    url = redis_url()
    parsed = urlparse(url)
    need_service(port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379), "Redis")
    began = time.monotonic()
    now = timeutil.now()
    seed_journeys(cast, now, warn=lambda _text: None)
    seed_supporter_workspace(cast, now)
    print(f"seeded in {time.monotonic() - began:.1f}s")
    redis.Redis.from_url(url).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="trellis-topology-"))
    started = topology.Topology(folder, database_url(), url)
    try:
        began = time.monotonic()
        started.start(timeout=90)
        print(f"topology ready in {time.monotonic() - began:.1f}s at {started.url}")
        yield started
    except BaseException:
        print(started.logs())
        raise
    finally:
        statuses = started.stop()
        redis.Redis.from_url(url).flushdb()
        print("exit statuses:", statuses)


class Day:
    """One person's browser: a session over HTTPS through the proxy, the CA verified."""

    def __init__(self, base: str, ca: Path) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.verify = str(ca)
        # Only this CA, and no proxy from the environment: straight to nginx on this machine.
        self.http.trust_env = False
        self.answers: list[tuple[str, str, int]] = []

    def csrf(self) -> str:
        return str(self.http.cookies.get("csrftoken", ""))

    def get(self, path: str, *, expect: int = 200) -> requests.Response:
        answer = self.http.get(self.base + path, timeout=20)
        self.answers.append(("GET", path, answer.status_code))
        assert answer.status_code == expect, (path, answer.status_code, answer.text[:800])
        return answer

    def post_form(self, path: str, data: dict[str, str]) -> requests.Response:
        answer = self.http.post(
            self.base + path,
            data={"csrfmiddlewaretoken": self.csrf(), **data},
            headers={"Referer": self.base + path},
            timeout=20,
        )
        self.answers.append(("POST", path, answer.status_code))
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:800])
        return answer

    def post_json(self, path: str, body: dict[str, Any]) -> requests.Response:
        answer = self.http.post(
            self.base + path,
            json=body,
            headers={"X-CSRFToken": self.csrf(), "Referer": self.base + "/"},
            timeout=20,
        )
        self.answers.append(("POST", path, answer.status_code))
        assert answer.status_code in {200, 201}, (path, answer.status_code, answer.text[:800])
        return answer

    def sign_in(self, email: str) -> requests.Response:
        self.get("/accounts/login/")
        return self.post_form(
            "/accounts/login/", {"email": email, "password": personas.DEMO_PASSWORD}
        )


def test_a_clinic_day_through_nginx_survives_a_web_process_killed(
    running: Any, cast: personas.Cast
) -> None:
    assert running.url.startswith("https://")
    # A demo patient with a questionnaire due, and a supporter on their care team.
    enrollment = next(
        e
        for e in Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE)
        .select_related("patient")
        .order_by("patient__email")
        if due_for(e, timeutil.now()) and e.care_team.exists()
    )
    patient_user = enrollment.patient
    supporter_user = enrollment.care_team.select_related("supporter").first().supporter
    # The lowest answer to every item: a calm week, nothing for the safety pathway.
    answers = {
        code: {item.id: min(o.value for o in i.options_for(item)) for item in i.items}
        for code, i in all_instruments().items()
    }

    # Plain HTTP on the proxy only sends people to HTTPS.
    plain_http = requests.Session()
    plain_http.trust_env = False
    plain = plain_http.get(
        f"http://127.0.0.1:{running.http_port}/today/", allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"{running.url}/today/"

    # The patient: signs in, checks in their mood, answers a questionnaire, sends a message.
    patient = Day(running.url, running.ca)
    patient.sign_in(patient_user.email)
    patient.get("/today/")
    journey = f"/api/v1/journey/enrollments/{enrollment.pk}"
    patient.post_json(f"{journey}/moods", {"client_id": str(uuid.uuid4()), "score": 6})
    measures = f"/api/v1/measures/enrollments/{enrollment.pk}"
    due = patient.get(f"{measures}/due").json()
    assert due, "the demo patient has a questionnaire due"
    patient.post_json(
        f"{measures}/responses",
        {
            "client_id": str(uuid.uuid4()),
            "instrument": due[0]["instrument"],
            "assignment_id": due[0]["id"],
            "answers": answers[due[0]["instrument"]],
        },
    )
    patient.get("/messages/")
    patient.post_json(
        f"/api/v1/messaging/enrollments/{enrollment.pk}/messages",
        {"client_id": str(uuid.uuid4()), "body": "I tried the breathing exercise today."},
    )

    # The supporter: signs in with a TOTP code, opens the caseload and a record, replies.
    supporter = Day(running.url, running.ca)
    step = supporter.sign_in(supporter_user.email)
    assert "/accounts/mfa/verify/" in step.url, step.url
    supporter.post_form("/accounts/mfa/verify/", {"code": current_totp(supporter_user)})
    record = f"/clinic/caseload/enrollments/{enrollment.pk}/"
    assert record in supporter.get("/clinic/caseload/").text
    supporter.get(record)
    supporter.get(f"/clinic/messages/{enrollment.pk}/")
    supporter.post_json(
        f"/api/v1/messaging/enrollments/{enrollment.pk}/messages",
        {"client_id": str(uuid.uuid4()), "body": "Well done for keeping going."},
    )
    day = patient.answers + supporter.answers
    assert [a for a in day if a[2] >= 400] == []

    # One web process dies; the proxy routes around it and nobody notices.
    running.kill_web(1)
    assert not running.web(1).alive()
    after = []
    for n in range(4):
        after.append(supporter.get("/clinic/caseload/").status_code)
        after.append(
            patient.post_json(
                f"{journey}/moods", {"client_id": str(uuid.uuid4()), "score": 5 + n % 3}
            ).status_code
        )
    assert set(after) <= {200, 201}, after
    assert running.web(2).alive()
    refused = (running.folder / "nginx-error.log").read_text()
    assert f"127.0.0.1:{running.web_ports[0]}" in refused  # nginx saw it down and moved on


def test_two_clock_processes_at_once_enqueue_each_job_once(transactional_db: Any) -> None:
    need_postgres()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "TRELLIS_ENV": "test",
        "DATABASE_URL": database_url(),
        "TRELLIS_TASK_BACKEND": "database",
    }
    clocks = [
        subprocess.Popen(
            [sys.executable, "-m", "trellis", "clock", "--once"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [clock.communicate(timeout=120)[0] for clock in clocks]
    assert [clock.returncode for clock in clocks] == [0, 0], outputs
    jobs = periodic.jobs()
    enqueued = [line for out in outputs for line in out.splitlines() if line.startswith("enqueued")]
    assert len(enqueued) == len(jobs), outputs
    for job in jobs:
        assert PeriodicRun.objects.filter(job=job.name).count() == 1, job.name
        assert DBTaskResult.objects.filter(task_path=job.task.module_path).count() == 1, job.name


def test_two_running_clocks_seal_the_audit_trail_between_them(transactional_db: Any) -> None:
    """Every clock runs the audit sealer every few seconds; two at once link each event
    exactly once, in one unbroken chain."""
    need_postgres()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "TRELLIS_ENV": "test",
        "DATABASE_URL": database_url(),
        "TRELLIS_TASK_BACKEND": "database",
        "TRELLIS_AUDIT_SEAL_SECONDS": "1",
    }
    before = [audit.record(action=f"test.before{i}") for i in range(100)]
    clocks: list[subprocess.Popen[str]] = [
        subprocess.Popen(
            [sys.executable, "-m", "trellis", "clock", "--interval", "3600"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        started = [clock.stdout.readline() if clock.stdout else "" for clock in clocks]
        assert all(line.startswith("Clock started") for line in started), started
        assert all("and 1 duty" in line for line in started), started
        during = []
        for i in range(100):
            during.append(audit.record(action=f"test.during{i}"))
            time.sleep(0.02)
        deadline = time.monotonic() + 60
        while AuditPending.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for clock in clocks:
            clock.terminate()
        outputs = [clock.communicate(timeout=30)[0] for clock in clocks]
    assert not AuditPending.objects.exists(), outputs
    links = list(AuditLink.objects.order_by("position").values_list("position", "event_id"))
    assert [p for p, _ in links] == list(range(1, 201))
    assert sorted(e for _, e in links) == sorted(e.pk for e in before + during)
    result = verify_chain()
    assert result.ok, result.reason
