"""Every due reminder is sent once, none twice, none lost, when a worker is killed with
SIGKILL in the middle of a batch: real `trellis worker` processes on each task queue (the
database queue on PostgreSQL, Celery on the real Redis of this machine), a real SMTP
server counting messages by Message-ID, and the fake SMS provider (its HTTP API on a local
port) counting texts by number: every text arrives exactly once in every case.

The kill is placed exactly, by the SMTP server itself, at the 15th message of 40 (the
worker claims 10 at a time, so it dies holding a lease on the rest of its batch):

- before the server accepts the message: every message arrives exactly once;
- after the server accepted it but before the worker could record it (the one window no
  SMTP exchange can close, docs/nudges-worker.md): that message, and only that one,
  arrives twice, with the same Message-ID; every other message exactly once.

Then two fresh workers finish the work, taking over the dead worker's lease when it runs
out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time as clock
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest
from django.db import connection

from trellis.accounts.models import Organization, User
from trellis.core import timeutil
from trellis.core.celery_backend import CeleryBackend
from trellis.core.testing import free_port, need_postgres, need_service, port_open
from trellis.nudges import tokens
from trellis.nudges.models import Delivery, DeliveryStatus, OutreachSettings
from trellis.nudges.tasks import send_deliveries
from trellis.nudges.tests.fake_sms_provider import FakeSmsProvider

pytestmark = [pytest.mark.slow, pytest.mark.services]

ROOT = Path(__file__).resolve().parents[3]
DELIVERIES = 40
TEXTS = 10  # the first ten patients also get a text, through the fake SMS provider
KILL_AT = 15
BATCH = 10
LEASE_SECONDS = 4


@dataclass
class KillingSink:
    """An SMTP server that counts accepted messages by Message-ID and, at the `kill_at`th
    message, kills the worker sending it: before accepting it, or after."""

    kill_at: int
    accept_the_killed_one: bool
    victim: subprocess.Popen[bytes] | None = None
    port: int = 0
    received: int = 0
    accepted: list[str] = field(default_factory=list)
    killed_message: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message_id = str(message_from_bytes(envelope.content)["Message-ID"])
        with self.lock:
            self.received += 1
            kill = self.received == self.kill_at and self.victim is not None
            if kill and self.accept_the_killed_one:
                self.accepted.append(message_id)
            if not kill:
                self.accepted.append(message_id)
        if kill:
            assert self.victim is not None
            self.killed_message = message_id
            os.kill(self.victim.pid, signal.SIGKILL)
            self.victim.wait(timeout=10)
            # The worker is gone and reads no answer: it never learns the outcome.
            return "250 Accepted" if self.accept_the_killed_one else "451 Try again later"
        return "250 Accepted"


@pytest.fixture
def sink_factory() -> Iterator[Any]:
    from aiosmtpd.controller import Controller

    controllers: list[Any] = []

    def make(*, accept_the_killed_one: bool) -> KillingSink:
        sink = KillingSink(kill_at=KILL_AT, accept_the_killed_one=accept_the_killed_one)
        sink.port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
        controller.start()
        controllers.append(controller)
        return sink

    yield make
    for controller in controllers:
        controller.stop()


def database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def broker_url() -> str:
    """A Redis database of its own for each test process (parallel runs do not share)."""
    base = urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = 12 + int(worker.removeprefix("gw") or 0) % 4
    return f"redis://{base.netloc}/{number}"


def need_redis(url: str) -> None:
    parsed = urlparse(url)
    need_service(
        port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379), "Redis (REDIS_URL)"
    )


def flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def due_emails(count: int) -> list[Delivery]:
    """`count` e-mail reminders due now, one for each of `count` patients of a clinic that
    may be reached at any hour (so the test passes whatever the time of day)."""
    clinic = Organization.objects.create(name="Harbour Clinic", slug="harbour", time_zone="UTC")
    OutreachSettings.objects.create(
        organization=clinic,
        allowed_from=clock(0, 0),
        allowed_until=clock(23, 59, 59, 999999),
        daily_cap=20,
        weekly_cap=50,
    )
    people = User.objects.bulk_create(
        User(email=f"patient{n}@harbour.example", full_name=f"Patient {n}", password="!")
        for n in range(count)
    )
    now = timeutil.now()
    return Delivery.objects.bulk_create(
        Delivery(
            key=f"exactly-once:{n}:email",
            organization=clinic,
            recipient=person,
            channel="email",
            template="exercise_today",
            not_before=now - timedelta(minutes=1),
        )
        for n, person in enumerate(people)
    )


def add_texts(count: int) -> dict[str, str]:
    """A text reminder for each of the first `count` patients; their numbers by key."""
    first = Delivery.objects.order_by("key").select_related("recipient")[:1].get()
    numbers = {}
    texts = []
    for n in range(count):
        person = User.objects.get(email=f"patient{n}@harbour.example")
        person.phone = f"+1555010{n:04d}"
        person.save(update_fields=["phone"])
        key = f"exactly-once:{n}:sms"
        numbers[key] = person.phone
        texts.append(
            Delivery(
                key=key,
                organization_id=first.organization_id,
                recipient=person,
                channel="sms",
                template="exercise_today",
                not_before=first.not_before,
            )
        )
    Delivery.objects.bulk_create(texts)
    return numbers


@pytest.fixture
def sms_provider() -> Iterator[FakeSmsProvider]:
    with FakeSmsProvider() as provider:
        yield provider


def worker_env(
    backend: str, sink: KillingSink, sms: FakeSmsProvider, tmp_path: Path
) -> dict[str, str]:
    env = dict(os.environ)
    provider = sms.settings()
    env.update(
        TRELLIS_SMS_BASE_URL=provider["BASE_URL"],
        TRELLIS_SMS_ACCOUNT=provider["ACCOUNT"],
        TRELLIS_SMS_TOKEN=provider["TOKEN"],
        TRELLIS_SMS_FROM=provider["FROM"],
        TRELLIS_ENV="test",
        DATABASE_URL=database_url(),
        EMAIL_URL=f"smtp://127.0.0.1:{sink.port}",
        TRELLIS_TASK_BACKEND=backend,
        TRELLIS_BROKER_URL=broker_url(),
        TRELLIS_NUDGES_BATCH=str(BATCH),
        TRELLIS_NUDGES_LEASE_SECONDS=str(LEASE_SECONDS),
        TRELLIS_VAR_DIR=str(tmp_path),
        TRELLIS_AUDIT_ANCHOR_FILE=str(tmp_path / "anchors.jsonl"),
    )
    return env


def start_worker(name: str, env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    log = (tmp_path / f"{name}.log").open("wb")
    command = [sys.executable, "-m", "trellis", "worker", "--worker-id", name]
    return subprocess.Popen(
        [*command, "--no-startup-delay", "--interval", "0.2"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def enqueue_sending(backend: str, times: int) -> None:
    """What the minute's batch does: enqueue sending tasks for the workers to share."""
    for _ in range(times):
        if backend == "celery":
            queue = CeleryBackend("exactly-once", {"OPTIONS": {"BROKER_URL": broker_url()}})
            queue.enqueue(send_deliveries, [30.0], {})
        else:
            send_deliveries.enqueue(30.0)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in tmp_path.glob("*.log"))


def run_and_kill(
    backend: str, sink: KillingSink, sms: FakeSmsProvider, tmp_path: Path
) -> tuple[Counter[str], dict[str, str]]:
    """One worker until the sink kills it mid-batch, then two more until all is sent.
    Every text must arrive exactly once too (the kill lands in an SMTP exchange)."""
    expected = {d.key: tokens.message_id(d.key) for d in due_emails(DELIVERIES)}
    numbers = add_texts(TEXTS)
    env = worker_env(backend, sink, sms, tmp_path)
    first = start_worker("first", env, tmp_path)
    sink.victim = first
    others: list[subprocess.Popen[bytes]] = []
    try:
        enqueue_sending(backend, 1)
        deadline = time.monotonic() + 90
        while first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.returncode == -signal.SIGKILL, logs(tmp_path)
        # The dead worker's batch is still leased to it; nothing of it was recorded as sent
        # after the kill.
        assert Delivery.objects.filter(status=DeliveryStatus.QUEUED).exclude(claimed_by="").exists()
        others = [start_worker(n, env, tmp_path) for n in ("second", "third")]
        enqueue_sending(backend, 2)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not Delivery.objects.filter(status=DeliveryStatus.QUEUED).exists():
                break
            time.sleep(0.2)
        # Let anything still in flight land before counting.
        time.sleep(1.0)
    finally:
        for process in [first, *others]:
            stop(process)
    texted = Counter(m.to for m in sms.messages)
    assert texted == Counter(numbers.values()), logs(tmp_path)
    assert Delivery.objects.filter(channel="sms", status=DeliveryStatus.SENT).count() == TEXTS
    return Counter(sink.accepted), expected


def summary(counted: Counter[str], expected: dict[str, str]) -> tuple[set[str], dict[str, int]]:
    losses = set(expected.values()) - set(counted)
    duplicates = {mid: n - 1 for mid, n in counted.items() if n > 1}
    return losses, duplicates


BACKENDS = ["database", "celery"]


def prepare(backend: str) -> None:
    need_postgres()
    if backend == "celery":
        need_redis(broker_url())
        flush(broker_url())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_mid_batch_before_the_server_accepts_loses_and_repeats_nothing(
    backend: str,
    transactional_db: Any,
    sink_factory: Any,
    sms_provider: FakeSmsProvider,
    tmp_path: Path,
) -> None:
    prepare(backend)
    sink = sink_factory(accept_the_killed_one=False)
    counted, expected = run_and_kill(backend, sink, sms_provider, tmp_path)
    losses, duplicates = summary(counted, expected)
    assert sink.killed_message in expected.values()
    assert losses == set(), logs(tmp_path)
    assert duplicates == {}
    assert sum(counted.values()) == DELIVERIES
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT, channel="email")
    assert sent.count() == DELIVERIES
    assert {d.provider_id for d in sent} == set(expected.values())
    assert not Delivery.objects.filter(status=DeliveryStatus.QUEUED).exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_after_the_server_accepted_repeats_exactly_that_message_once(
    backend: str,
    transactional_db: Any,
    sink_factory: Any,
    sms_provider: FakeSmsProvider,
    tmp_path: Path,
) -> None:
    prepare(backend)
    sink = sink_factory(accept_the_killed_one=True)
    counted, expected = run_and_kill(backend, sink, sms_provider, tmp_path)
    losses, duplicates = summary(counted, expected)
    assert losses == set(), logs(tmp_path)
    # The stated window: accepted, then killed before the outcome was committed. The
    # delivery is sent again with the same Message-ID, and nothing else repeats.
    assert duplicates == {sink.killed_message: 1}
    assert sum(counted.values()) == DELIVERIES + 1
    assert Delivery.objects.filter(status=DeliveryStatus.SENT, channel="email").count() == (
        DELIVERIES
    )
    again = Delivery.objects.get(provider_id=sink.killed_message)
    assert again.attempts == 1  # the first attempt died with its transaction
