import io
import logging
import threading
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django_tasks_db.models import DBTaskResult

from trellis.audit.models import AuditEvent
from trellis.audit.services import record
from trellis.audit.tasks import verify_audit_chain
from trellis.audit.tests.helpers import tamper
from trellis.core import periodic, timeutil
from trellis.core.models import PeriodicRun
from trellis.core.testing import need_postgres

JOB_NAME = "trellis.audit.tasks.verify_audit_chain"
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=timeutil.UTC)


def _job() -> periodic.PeriodicJob:
    return next(j for j in periodic.jobs() if j.name == JOB_NAME)


def test_daily_audit_check_is_registered():
    job = _job()
    assert job.every == timedelta(days=1)
    assert job.task is verify_audit_chain


def test_two_clocks_in_the_same_period_enqueue_once(db):
    job = _job()
    first = periodic.tick(NOON, only=[job])
    second = periodic.tick(NOON + timedelta(hours=3), only=[job])
    assert [o.enqueued for o in first] == [True]
    assert [o.enqueued for o in second] == [False]
    assert PeriodicRun.objects.get(job=JOB_NAME).period_start == datetime(
        2026, 3, 10, tzinfo=timeutil.UTC
    )
    assert DBTaskResult.objects.filter(task_path=JOB_NAME).count() == 1
    run = PeriodicRun.objects.get(job=JOB_NAME)
    assert run.task_result_id == first[0].task_result_id


def test_the_next_period_is_enqueued_again(db):
    job = _job()
    periodic.tick(NOON, only=[job])
    later = periodic.tick(NOON + timedelta(days=1), only=[job])
    assert [o.enqueued for o in later] == [True]
    assert DBTaskResult.objects.filter(task_path=JOB_NAME).count() == 2


def test_clock_once_enqueues_and_a_second_clock_does_not(db):
    out = io.StringIO()
    call_command("clock", "--once", stdout=out)
    assert f"enqueued {JOB_NAME}" in out.getvalue()
    out = io.StringIO()
    call_command("clock", "--once", stdout=out)
    assert JOB_NAME not in out.getvalue()
    assert DBTaskResult.objects.filter(task_path=JOB_NAME).count() == 1


def test_clock_lists_its_jobs(db):
    out = io.StringIO()
    call_command("clock", "--list", stdout=out)
    assert f"{JOB_NAME}  every 1 day" in out.getvalue()


def test_worker_runs_the_enqueued_audit_check_for_real(transactional_db):
    # transactional: the worker manages its own transactions and connections, as in production.
    record(action="test.one")
    record(action="test.two")
    call_command("clock", "--once", stdout=io.StringIO())
    call_command("worker", "--batch", "--no-startup-delay", stdout=io.StringIO())
    result = DBTaskResult.objects.get(task_path=JOB_NAME)
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"ok": True, "verified": 2, "broken_event": None}
    event = AuditEvent.objects.filter(action="audit.verified").get()
    assert event.details == {"verified": 2}


def test_audit_check_records_and_logs_a_broken_chain(db, caplog):
    events = [record(action=f"test.{i}") for i in range(3)]
    tamper("UPDATE audit_auditevent SET action = 'test.x' WHERE id = %s", [events[1].pk])
    with caplog.at_level(logging.ERROR, logger="trellis.audit.tasks"):
        outcome = verify_audit_chain.call()
    assert outcome["ok"] is False
    assert outcome["broken_event"] == events[1].pk
    failed = AuditEvent.objects.filter(action="audit.verify_failed").get()
    assert failed.details["first_failing_row"] == events[1].pk
    assert f"row id={events[1].pk}" in caplog.text


def test_only_django_tasks_can_be_periodic():
    with pytest.raises(TypeError):
        periodic.register(lambda: None, every=timedelta(minutes=5))  # type: ignore[arg-type]


def test_a_job_cannot_be_registered_twice_with_different_periods():
    with pytest.raises(ValueError, match="another period"):
        periodic.register(verify_audit_chain, every=timedelta(hours=1))


def test_concurrent_clocks_on_postgresql_enqueue_once(transactional_db):
    need_postgres()
    job = _job()
    barrier = threading.Barrier(4)
    outcomes: list[bool] = []

    def clock() -> None:
        try:
            barrier.wait()
            outcomes.extend(o.enqueued for o in periodic.tick(NOON, only=[job]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=clock) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, False, False, True]
    assert PeriodicRun.objects.filter(job=JOB_NAME).count() == 1
    assert DBTaskResult.objects.filter(task_path=JOB_NAME).count() == 1
