"""The worker's batch: deliveries are read ahead ten at a time with their recipients'
consents and blocks; each delivery then costs one locking check, its update and its
engagement event; and anything changed since the read (a consent withdrawn, a STOP, a
retry moved later) is read afresh, so it still decides."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from trellis.care.consent import current_documents, give_consent, withdraw_consent
from trellis.core import timeutil
from trellis.nudges import services, worker
from trellis.nudges.models import BlockReason, Delivery, DeliveryStatus, OutreachSettings
from trellis.nudges.tests.pipeline_helpers import alex_with, mail_settings

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
    [row] = services.queue_nudge(
        recipient=cast["patient_alex"],
        organization=enrollment.organization,
        template="exercise_today",
        context={},
        key=key,
        enrollment=enrollment,
        channels=["email"],
        not_before=TUESDAY,
        transactional=True,
    )
    assert worker.claim("worker-a", now=timeutil.now(), limit=10, lease=LEASE) == [row.pk]
    return row


def read_long_ago(row: Delivery) -> worker.ReadAhead:
    """The row read ahead, as if well after the last change to the person's consents and
    blocks (in a clinic consents are days old): the read is what decides."""
    ahead = worker.read_ahead([row.pk], "worker-a")
    ahead.read_at = timeutil.now() + worker.STANDING_MARGIN + timedelta(seconds=1)
    return ahead


def give_automation_consent(cast: Any, row: Delivery) -> Any:
    [automation] = [d for d in current_documents(row.organization) if d.kind == "automation"]
    return give_consent(automation, actor=cast["patient_alex"], now=TUESDAY)


def test_a_delivery_read_ahead_costs_a_lock_an_update_and_an_event(
    cast: Any, settings: Any, smtp: Any, django_assert_num_queries: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    give_automation_consent(cast, row)
    ahead = read_long_ago(row)
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
    ahead = read_long_ago(row)
    # A reading that says withdrawn (nothing in the database says so) is what decides.
    ahead.standings[row.recipient_id] = services.Standing(consent_withdrawn=True, blocks=())
    assert worker.send_claimed(row.pk, "worker-a", ahead=ahead)
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "consent_withdrawn")
    assert smtp.messages == []


def test_consents_changed_since_the_read_are_read_again(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    ahead = worker.read_ahead([row.pk], "worker-a")
    ahead.standings[row.recipient_id] = services.Standing(consent_withdrawn=True, blocks=())
    give_automation_consent(cast, row)  # answered after the read
    assert worker.send_claimed(row.pk, "worker-a", ahead=ahead)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    assert len(smtp.messages) == 1


def test_a_consent_withdrawn_after_the_read_stops_the_delivery(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    alex = cast["patient_alex"]
    consent = give_automation_consent(cast, row)
    ahead = worker.read_ahead([row.pk], "worker-a")
    assert ahead.standings[alex.pk].consent_withdrawn is False
    withdraw_consent(consent, actor=alex, now=timeutil.now())
    assert worker.send_claimed(row.pk, "worker-a", ahead=ahead)
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "consent_withdrawn")
    assert smtp.messages == []


def test_a_stop_after_the_read_stops_the_delivery(cast: Any, settings: Any, smtp: Any) -> None:
    row = claimed_email(cast, settings, smtp)
    ahead = read_long_ago(row)
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
    ahead = read_long_ago(row)
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
