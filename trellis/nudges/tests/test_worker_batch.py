"""The worker's batch: deliveries are read ahead ten at a time with their recipients'
consents and blocks, and a read is used for two seconds at most; each delivery then costs
one locking check, its update and its engagement event; a delivery whose row changed
since the read (a STOP suppressed it, a retry moved later) is read afresh, and so is one
whose read is too old."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from trellis.care.consent import current_documents, give_consent, withdraw_consent
from trellis.core import timeutil
from trellis.nudges import services, worker
from trellis.nudges.models import BlockReason, Delivery, DeliveryStatus, OutreachSettings
from trellis.nudges.tests.pipeline_helpers import alex_with, mail_settings, queue_one
from trellis.nudges.tests.test_exactly_once import due_emails

pytestmark = pytest.mark.django_db

TUESDAY = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def claimed_email(cast: Any, settings: Any, smtp: Any, *, key: str = "batch") -> Delivery:
    """An e-mail reminder to Alex, due now, claimed by worker-a, at a clinic open all day
    (the worker sends at the real time, so the test passes whatever the hour)."""
    mail_settings(settings, smtp)
    enrollment = alex_with(cast, now=TUESDAY)
    OutreachSettings.objects.update_or_create(
        organization=enrollment.organization,
        defaults={"allowed_from": time(0), "allowed_until": time(23, 59, 59, 999999)},
    )
    row = queue_one(cast, enrollment, key=key, not_before=TUESDAY)
    assert worker.claim("worker-a", now=timeutil.now(), limit=10, lease=LEASE) == [row.pk]
    return row


def read_now(row: Delivery) -> worker.ReadAhead:
    return worker.read_ahead([row.pk], "worker-a")


def give_automation_consent(cast: Any, row: Delivery) -> Any:
    [automation] = [d for d in current_documents(row.organization) if d.kind == "automation"]
    return give_consent(automation, actor=cast["patient_alex"], now=TUESDAY)


def test_a_delivery_read_ahead_costs_a_lock_an_update_and_an_event(
    cast: Any, settings: Any, smtp: Any, django_assert_num_queries: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    give_automation_consent(cast, row)
    ahead = read_now(row)
    # The savepoint pair stands in for the transaction's BEGIN and COMMIT in a test.
    with django_assert_num_queries(5):
        assert worker.send_claimed(row.pk, "worker-a", ahead=ahead)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    assert len(smtp.messages) == 1


def test_without_reading_ahead_the_delivery_is_read_under_its_lock(
    cast: Any, settings: Any, smtp: Any, django_assert_num_queries: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    with django_assert_num_queries(7):
        assert worker.send_claimed(row.pk, "worker-a")
    assert len(smtp.messages) == 1


def test_what_was_read_ahead_decides_when_nothing_changed_since(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    ahead = read_now(row)
    # A reading that says withdrawn (nothing in the database says so) is what decides.
    ahead.standings[row.recipient_id] = services.Standing(consent_withdrawn=True, blocks=())
    assert worker.send_claimed(row.pk, "worker-a", ahead=ahead)
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "consent_withdrawn")
    assert smtp.messages == []


def test_a_read_older_than_two_seconds_is_not_used(cast: Any, settings: Any, smtp: Any) -> None:
    row = claimed_email(cast, settings, smtp)
    alex = cast["patient_alex"]
    consent = give_automation_consent(cast, row)
    ahead = read_now(row)
    assert ahead.standings[alex.pk].consent_withdrawn is False
    withdraw_consent(consent, actor=alex, now=timeutil.now())
    # The read is now older than its limit (a slow mail server held the batch): the
    # delivery is read afresh under its lock, and the withdrawal decides.
    ahead.read_at -= worker.READ_AHEAD_FOR + timedelta(seconds=1)
    assert worker.send_claimed(row.pk, "worker-a", ahead=ahead)
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "consent_withdrawn")
    assert smtp.messages == []


def test_a_slow_batch_reads_ahead_again_once_a_read_grows_old(
    db: Any, smtp: Any, settings: Any, monkeypatch: Any
) -> None:
    """drain reads ahead every ten deliveries, and sooner when its read is older than two
    seconds (here every read is made to look three seconds old)."""
    mail_settings(settings, smtp)
    due_emails(3)
    reads: list[int] = []
    real_read_ahead = worker.read_ahead

    def aged(ids: list[Any], who: str) -> worker.ReadAhead:
        reads.append(len(ids))
        ahead = real_read_ahead(ids, who)
        ahead.read_at -= timedelta(seconds=3)
        return ahead

    monkeypatch.setattr(worker, "read_ahead", aged)
    outcome = worker.drain(budget_seconds=30, worker="worker-a")
    assert outcome.sent == 3
    assert reads == [3, 2, 1]
    assert len(smtp.messages) == 3


def test_a_stop_after_the_read_stops_the_delivery(cast: Any, settings: Any, smtp: Any) -> None:
    row = claimed_email(cast, settings, smtp)
    ahead = read_now(row)
    assert ahead.standings[row.recipient_id].blocks == ()
    services.block(row.recipient, reason=BlockReason.STOP)
    # The block suppressed what was queued; the worker finds the row no longer queued.
    assert worker.send_claimed(row.pk, "worker-a", ahead=ahead) is False
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "blocked_stop")
    assert smtp.messages == []


def test_a_delivery_changed_since_the_read_is_read_again(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    ahead = read_now(row)
    # A provider's report moved the next attempt later after the read: the row read ahead
    # still says due, the row itself does not.
    later = timeutil.now() + timedelta(hours=1)
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=later, updated_at=timeutil.now())
    assert worker.send_claimed(row.pk, "worker-a", ahead=ahead)
    row.refresh_from_db()
    assert (row.status, row.next_attempt_at) == (DeliveryStatus.QUEUED, later)
    assert smtp.messages == []


def test_reading_ahead_takes_three_queries_and_only_the_workers_own_queued_rows(
    cast: Any, settings: Any, smtp: Any, django_assert_num_queries: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    with django_assert_num_queries(3):
        ahead = worker.read_ahead([row.pk], "worker-a")
    assert set(ahead.rows) == {row.pk}
    assert set(ahead.standings) == {row.recipient_id}
    assert worker.read_ahead([row.pk], "worker-b").rows == {}
