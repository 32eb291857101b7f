"""The worker's claim and lease, in one process: two workers never hold the same delivery,
a lease keeps others off until it runs out, a delivery taken over is not sent by the worker
that lost it, and the minute's batch fans out and sends everything over real SMTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django_tasks_db.models import DBTaskResult

from trellis.core import periodic, timeutil
from trellis.nudges import tokens, worker
from trellis.nudges.models import Delivery, DeliveryStatus
from trellis.nudges.tasks import (
    evaluate_rules,
    queue_appointment_reminders,
    record_proximal_outcomes,
    send_due_deliveries,
)
from trellis.nudges.tests.test_exactly_once import due_emails

LEASE = timedelta(seconds=60)


def test_two_workers_claim_different_deliveries_and_leases_keep_others_off(db: Any) -> None:
    due_emails(5)
    now = timeutil.now()
    first = worker.claim("worker-a", now=now, limit=3, lease=LEASE)
    second = worker.claim("worker-b", now=now, limit=3, lease=LEASE)
    assert len(first) == 3
    assert len(second) == 2
    assert not set(first) & set(second)
    assert worker.claim("worker-c", now=now, limit=10, lease=LEASE) == []
    # Once the leases have run out (the workers died), another worker takes everything.
    later = now + LEASE + timedelta(seconds=1)
    taken = worker.claim("worker-c", now=later, limit=10, lease=LEASE)
    assert set(taken) == set(first) | set(second)
    assert set(Delivery.objects.values_list("claimed_by", flat=True)) == {"worker-c"}


def test_nothing_not_yet_due_or_waiting_for_a_retry_is_claimed(db: Any) -> None:
    deliveries = due_emails(3)
    now = timeutil.now()
    Delivery.objects.filter(pk=deliveries[0].pk).update(not_before=now + timedelta(hours=1))
    Delivery.objects.filter(pk=deliveries[1].pk).update(next_attempt_at=now + timedelta(minutes=5))
    assert worker.claim("worker-a", now=now, limit=10, lease=LEASE) == [deliveries[2].pk]


def test_a_worker_whose_delivery_was_taken_over_does_not_send_it(db: Any, smtp: Any) -> None:
    (delivery,) = due_emails(1)
    now = timeutil.now()
    worker.claim("slow-worker", now=now, limit=1, lease=LEASE)
    worker.claim("next-worker", now=now + LEASE + timedelta(seconds=1), limit=1, lease=LEASE)
    assert worker.send_claimed(delivery.pk, "slow-worker") is False
    assert smtp.messages == []
    assert worker.send_claimed(delivery.pk, "next-worker") is True
    assert [m.message["Message-ID"] for m in smtp.messages] == [tokens.message_id(delivery.key)]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    # Sent is final: the lease holder does not send it again.
    assert worker.send_claimed(delivery.pk, "next-worker") is False
    assert len(smtp.messages) == 1


def test_drain_sends_every_due_delivery_once_over_smtp(db: Any, smtp: Any, settings: Any) -> None:
    settings.TRELLIS_NUDGES_BATCH = 4
    deliveries = due_emails(10)
    outcome = worker.drain(budget_seconds=30, worker="only-worker")
    assert outcome.sent == 10
    assert outcome.batches == 3
    ids = sorted(str(m.message["Message-ID"]) for m in smtp.messages)
    assert ids == sorted(tokens.message_id(d.key) for d in deliveries)
    assert not Delivery.objects.exclude(status=DeliveryStatus.SENT).exists()
    assert not Delivery.objects.exclude(claimed_by="").exclude(status=DeliveryStatus.SENT).exists()


def test_the_minute_batch_fans_out_to_the_configured_senders(db: Any, settings: Any) -> None:
    settings.TRELLIS_NUDGES_SENDERS = 3
    assert send_due_deliveries.call() == {"senders": 3}
    path = "trellis.nudges.tasks.send_deliveries"
    assert DBTaskResult.objects.filter(task_path=path).count() == 3


def test_the_clock_runs_sending_every_minute_and_the_rules_every_five() -> None:
    every = {job.name: job.every for job in periodic.jobs()}
    assert every["trellis.nudges.tasks.send_due_deliveries"] == timedelta(minutes=1)
    assert every["trellis.nudges.tasks.evaluate_rules"] == timedelta(minutes=5)
    assert every["trellis.nudges.tasks.queue_appointment_reminders"] == timedelta(minutes=5)
    assert every["trellis.nudges.tasks.record_proximal_outcomes"] == timedelta(hours=1)


def test_the_clock_jobs_call_the_rules_the_reminders_and_the_outcomes(db: Any) -> None:
    assert evaluate_rules.call()["decisions"] == 0
    assert queue_appointment_reminders.call() == {"sessions": 0}
    assert record_proximal_outcomes.call() == {"recorded": 0}
