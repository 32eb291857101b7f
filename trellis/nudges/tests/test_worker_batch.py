"""The worker's batch: the recipients' consents and blocks are read once for the batch, each
delivery then costs one locking read, its update and its engagement event; and a consent
withdrawn or a STOP after the batch was read still stops the delivery."""

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


def test_a_delivery_of_a_batch_costs_a_lock_an_update_and_an_event(
    cast: Any, settings: Any, smtp: Any, django_assert_num_queries: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    [automation] = [d for d in current_documents(row.organization) if d.kind == "automation"]
    give_consent(automation, actor=cast["patient_alex"], now=TUESDAY)
    known, _read_at = worker.standings_of_batch([row.pk])
    # As if read well after the consent was given (in a clinic consents are days old):
    # nothing changed since, so the batch's reading is used.
    read_at = timeutil.now() + worker.STANDING_MARGIN + timedelta(seconds=1)
    # The savepoint pair stands in for the transaction's BEGIN and COMMIT in a test.
    with django_assert_num_queries(5):
        assert worker.send_claimed(row.pk, "worker-a", known=known, read_at=read_at)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    assert len(smtp.messages) == 1


def test_without_the_batch_reading_the_consents_and_blocks_are_read_for_the_delivery(
    cast: Any, settings: Any, smtp: Any, django_assert_num_queries: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    with django_assert_num_queries(7):
        assert worker.send_claimed(row.pk, "worker-a")
    assert len(smtp.messages) == 1


def test_the_batchs_reading_decides_when_nothing_changed_since(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    later = timeutil.now() + worker.STANDING_MARGIN + timedelta(seconds=1)
    # A reading that says withdrawn (nothing in the database says so) is what decides.
    known = {row.recipient_id: services.Standing(consent_withdrawn=True, blocks=())}
    assert worker.send_claimed(row.pk, "worker-a", known=known, read_at=later)
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "consent_withdrawn")
    assert smtp.messages == []


def test_a_standing_changed_since_the_batch_read_it_is_read_again(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    read_at = timeutil.now()
    # The same out-of-date reading, but a consent was answered after it was taken.
    known = {row.recipient_id: services.Standing(consent_withdrawn=True, blocks=())}
    [automation] = [d for d in current_documents(row.organization) if d.kind == "automation"]
    give_consent(automation, actor=cast["patient_alex"], now=TUESDAY)
    assert worker.send_claimed(row.pk, "worker-a", known=known, read_at=read_at)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT
    assert len(smtp.messages) == 1


def test_a_consent_withdrawn_after_the_batch_was_read_stops_the_delivery(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    alex = cast["patient_alex"]
    [automation] = [d for d in current_documents(row.organization) if d.kind == "automation"]
    consent = give_consent(automation, actor=alex, now=TUESDAY)
    known, read_at = worker.standings_of_batch([row.pk])
    assert known[alex.pk].consent_withdrawn is False
    withdraw_consent(consent, actor=alex, now=timeutil.now())
    assert worker.send_claimed(row.pk, "worker-a", known=known, read_at=read_at)
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "consent_withdrawn")
    assert smtp.messages == []


def test_a_stop_after_the_batch_was_read_stops_the_delivery(
    cast: Any, settings: Any, smtp: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    known, read_at = worker.standings_of_batch([row.pk])
    assert known[row.recipient_id].blocks == ()
    services.block(row.recipient, reason=BlockReason.STOP)
    # The block suppressed what was queued; the worker finds the row no longer queued.
    assert worker.send_claimed(row.pk, "worker-a", known=known, read_at=read_at) is False
    row.refresh_from_db()
    assert (row.status, row.reason) == (DeliveryStatus.SUPPRESSED, "blocked_stop")
    assert smtp.messages == []


def test_the_standings_of_a_batch_are_read_in_three_queries(
    cast: Any, settings: Any, smtp: Any, django_assert_num_queries: Any
) -> None:
    row = claimed_email(cast, settings, smtp)
    with django_assert_num_queries(3):
        known, _ = worker.standings_of_batch([row.pk])
    assert set(known) == {row.recipient_id}
