"""The sealer links committed events into the chain; writers never wait on one another."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import timedelta

from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from trellis.audit.integrity import verify_chain
from trellis.audit.metrics import read_sealer_lag
from trellis.audit.models import AuditChainHead, AuditEvent, AuditLink, AuditPending
from trellis.audit.sealer import seal_pending, sealer_lag
from trellis.audit.services import record
from trellis.core import periodic, timeutil
from trellis.core.testing import need_postgres


def _positions() -> list[tuple[int, int]]:
    return list(AuditLink.objects.order_by("position").values_list("position", "event_id"))


def test_writing_an_event_queues_it_and_locks_nothing(db):
    with CaptureQueriesContext(connection) as ctx:
        event = record(action="test.queued")
    statements = [q["sql"] for q in ctx.captured_queries]
    # The event and its pending row: one `WITH` on PostgreSQL, two INSERTs elsewhere.
    assert len(statements) == (1 if connection.vendor == "postgresql" else 2), statements
    assert all(sql.lstrip().startswith(("INSERT", "WITH")) for sql in statements), statements
    assert not any("FOR UPDATE" in sql or "auditchainhead" in sql for sql in statements)
    assert AuditPending.objects.filter(event=event).exists()
    assert not AuditLink.objects.exists()


def test_the_sealer_links_what_waits_in_order_and_moves_the_head(db):
    events = [record(action=f"test.{i}") for i in range(3)]
    assert seal_pending() == 3
    assert _positions() == [(1, events[0].pk), (2, events[1].pk), (3, events[2].pk)]
    head = AuditChainHead.objects.get()
    last = AuditLink.objects.get(position=3)
    assert (head.last_position, head.last_event_id, head.last_hash) == (3, events[2].pk, last.mac)
    assert not AuditPending.objects.exists()
    assert seal_pending() == 0
    assert verify_chain().verified == 3


def test_the_sealer_carries_on_across_batches(db):
    events = [record(action=f"test.{i}") for i in range(7)]
    assert seal_pending(batch_size=3) == 7
    assert _positions() == [(i + 1, e.pk) for i, e in enumerate(events)]
    assert verify_chain().ok


def test_the_lag_counts_what_waits_and_how_long_the_oldest_has(db):
    assert sealer_lag() == (0, None)
    record(action="test.waiting")
    record(action="test.waiting")
    count, age = sealer_lag(timeutil.now() + timedelta(seconds=30))
    assert count == 2
    assert age is not None and 29 <= age <= 60
    gauges = {m.name: m.samples[0].value for m in read_sealer_lag(timeutil.now())}
    assert gauges["trellis_audit_unsealed_events"] == 2
    seal_pending()
    assert sealer_lag() == (0, None)
    gauges = {m.name: m.samples[0].value for m in read_sealer_lag(timeutil.now())}
    assert gauges == {"trellis_audit_unsealed_events": 0, "trellis_audit_sealer_lag_seconds": 0}


def test_every_clock_seals_every_few_seconds(db, settings):
    (duty,) = [d for d in periodic.duties() if d.name == "audit.seal"]
    assert (
        duty.every == timedelta(seconds=settings.TRELLIS_AUDIT_SEAL_SECONDS) == timedelta(seconds=2)
    )
    record(action="test.one")
    assert periodic.perform(duty) is True
    assert AuditLink.objects.count() == 1
    record(action="test.two")
    call_command("clock", "--once", stdout=io.StringIO())
    assert AuditLink.objects.count() == 2


def test_a_failing_duty_is_logged_and_does_not_stop_the_clock(caplog):
    def broken() -> None:
        raise RuntimeError("no database")

    duty = periodic.Duty(name="test.broken", run=broken, every=timedelta(seconds=1))
    assert periodic.perform(duty) is False
    assert "clock duty test.broken failed" in caplog.text


def _in_threads(*targets: Callable[[], None]) -> None:
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_an_event_committed_after_later_ones_were_linked_is_linked_next(transactional_db):
    """Ids are handed out in insert order but rows commit in any order: the chain follows
    the order the sealer finds them in."""
    need_postgres()
    inserted, linked_meanwhile = threading.Event(), threading.Event()
    slow: list[AuditEvent] = []

    def slow_writer() -> None:
        with transaction.atomic():
            slow.append(record(action="test.slow"))
            inserted.set()
            assert linked_meanwhile.wait(timeout=30)

    def fast_writer_and_sealer() -> None:
        assert inserted.wait(timeout=30)
        record(action="test.fast")
        assert seal_pending() == 1
        linked_meanwhile.set()

    _in_threads(slow_writer, fast_writer_and_sealer)
    fast = AuditEvent.objects.get(action="test.fast")
    assert slow[0].pk < fast.pk
    assert seal_pending() == 1
    assert _positions() == [(1, fast.pk), (2, slow[0].pk)]
    result = verify_chain()
    assert result.ok, result.reason
    assert result.verified == 2


def test_two_sealers_at_once_link_each_event_once(transactional_db):
    need_postgres()
    events = [record(action=f"test.{i}") for i in range(300)]
    start = threading.Barrier(2)

    def sealer() -> None:
        start.wait(timeout=30)
        seal_pending(batch_size=25)

    _in_threads(sealer, sealer)
    assert [p for p, _ in _positions()] == list(range(1, 301))
    assert sorted(e for _, e in _positions()) == [e.pk for e in events]
    assert not AuditPending.objects.exists()
    assert verify_chain().verified == 300
