"""The sending worker: claims due deliveries and sends each exactly once.

Read docs/nudges-worker.md for the whole story; in short:

1. **Claim** (one short transaction): up to `batch` due deliveries (queued, `not_before`
   passed, no retry waiting, no live lease) are selected with `FOR UPDATE SKIP LOCKED`, so
   two workers claiming at the same moment take different rows, and stamped with this
   worker's lease (`claimed_by`, `claimed_until`).
2. **Send** (one transaction per delivery): ten deliveries at a time are read ahead,
   without locks, with what deciding them needs and their recipients' consents and
   blocks (a read is used for two seconds at most); then each row is locked again in one
   statement that checks it is still ours, still queued and unchanged since it was read
   (if it changed, it is read afresh under the lock);
   `dispatch.send_locked` sends it and records the outcome, and the transaction commits at
   once. While it is locked no other worker can claim it (SKIP LOCKED), so a
   worker whose lease ran out while it was sending still sends alone; once committed the
   row is no longer queued.
3. **Crash**: a worker killed at any point loses its database connection, PostgreSQL rolls
   back its open transaction and releases its locks, and its lease runs out: another
   worker claims what it left. The one window no SMTP exchange can close: the provider has
   accepted the message and the worker dies before its transaction commits. That delivery
   is sent again, with the same Message-ID (fixed by the delivery key), so the duplicate
   is recognisable by the receiving system and by us.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q

from trellis.core import timeutil
from trellis.nudges import dispatch, services
from trellis.nudges.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def lease_length() -> timedelta:
    return timedelta(seconds=getattr(settings, "TRELLIS_NUDGES_LEASE_SECONDS", 60))


def batch_size() -> int:
    return int(getattr(settings, "TRELLIS_NUDGES_BATCH", 100))


def worker_name() -> str:
    """Who holds a lease: host, process and a random part (a restarted process differs)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{os.urandom(3).hex()}"


def _due(now: datetime) -> Q:
    return (
        Q(status=DeliveryStatus.QUEUED, not_before__lte=now)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
    )


def claim(worker: str, *, now: datetime, limit: int, lease: timedelta) -> list[UUID]:
    """Take up to `limit` due deliveries for `worker` until `now + lease`; their ids."""
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(_due(now))
            .order_by("not_before")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(id__in=ids).update(claimed_by=worker, claimed_until=now + lease)
    return ids


# Deliveries are read this many at a time, ahead of sending them, and a read is used for
# at most this long: what decides a delivery was read at most ten sends and two seconds
# before it goes (a slow mail server cannot stretch that).
READ_AHEAD = 10
READ_AHEAD_FOR = timedelta(seconds=2)


@dataclass
class ReadAhead:
    """A few claimed deliveries read together, without locks, with what deciding them
    needs (`dispatch.with_what_deciding_needs`) and their recipients' consents and blocks
    (`services.standings`), at `read_at`."""

    rows: dict[UUID, Delivery]
    standings: dict[Any, services.Standing]
    read_at: datetime

    def fresh(self, now: datetime) -> bool:
        return now - self.read_at <= READ_AHEAD_FOR


def read_ahead(ids: list[UUID], worker: str) -> ReadAhead:
    """Read these deliveries of `worker`'s batch that are still its own and queued (three
    queries, whatever their number)."""
    read_at = timeutil.now()
    rows = {
        delivery.pk: delivery
        for delivery in dispatch.with_what_deciding_needs(
            Delivery.objects.filter(id__in=ids, claimed_by=worker, status=DeliveryStatus.QUEUED)
        )
    }
    recipients = [delivery.recipient_id for delivery in rows.values()]
    return ReadAhead(rows, services.standings(recipients), read_at)


def _unchanged_since_read(delivery: Delivery, worker: str) -> bool:
    """Lock the row of a delivery read ahead; True if it is still ours, still queued and
    unchanged since it was read (the same `updated_at`). One statement."""
    return (
        Delivery.objects.select_for_update()
        .filter(
            pk=delivery.pk,
            claimed_by=worker,
            status=DeliveryStatus.QUEUED,
            updated_at=delivery.updated_at,
        )
        .exists()
    )


def send_claimed(delivery_id: UUID, worker: str, *, ahead: ReadAhead | None = None) -> bool:
    """Send one delivery this worker claimed; False if it is no longer ours or no longer
    queued (another worker took it over after our lease ran out, or it was sent).

    With a fresh `ahead`, the delivery as read ahead is used once its row is locked and
    found unchanged: a STOP or an unsubscribe suppresses the row itself, a provider's
    report or another worker changes it, so none of them is missed. Otherwise, or if the
    row changed, it is read afresh under the lock with the recipient's consents and
    blocks.
    """
    with transaction.atomic():
        now = timeutil.now()
        delivery = ahead.rows.get(delivery_id) if ahead is not None else None
        standing: services.Standing | None = None
        if (
            ahead is not None
            and delivery is not None
            and ahead.fresh(now)
            and _unchanged_since_read(delivery, worker)
        ):
            standing = ahead.standings.get(delivery.recipient_id)
        else:
            delivery = dispatch.for_sending(
                Delivery.objects.filter(
                    id=delivery_id, claimed_by=worker, status=DeliveryStatus.QUEUED
                )
            ).first()
            if delivery is None:
                return False
        dispatch.send_locked(delivery, now=now, standing=standing)
    # Committed: the outcome is on record the moment after the provider answered.
    return True


def release(ids: list[UUID], worker: str) -> None:
    """Give back the leases of a finished batch (a delivery waiting for a retry is then
    free for any worker once its time comes)."""
    if ids:
        Delivery.objects.filter(id__in=ids, claimed_by=worker).update(
            claimed_by="", claimed_until=None
        )


@dataclass
class DrainOutcome:
    worker: str
    claimed: int = 0
    sent: int = 0
    lost_lease: int = 0
    errors: int = 0
    batches: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "worker": self.worker,
            "claimed": self.claimed,
            "sent": self.sent,
            "lost_lease": self.lost_lease,
            "errors": self.errors,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
        }


def _next_lease_expiry(now: datetime) -> datetime | None:
    """When the earliest lease of another (perhaps dead) worker on a due delivery ends."""
    found: datetime | None = Delivery.objects.filter(
        status=DeliveryStatus.QUEUED,
        not_before__lte=now,
        claimed_until__gt=now,
    ).aggregate(first=Min("claimed_until"))["first"]
    return found


def drain(*, budget_seconds: float, worker: str | None = None) -> DrainOutcome:
    """Claim and send batch after batch until nothing is due or the budget is spent.

    When what is left is leased by another worker, wait for the earliest lease to end if it
    ends within the budget: a worker that died mid-batch is taken over by the next run.
    """
    me = worker or worker_name()
    outcome = DrainOutcome(worker=me)
    started = time.monotonic()
    lease = lease_length()
    # Stop sending from a batch a little before its lease ends (another worker may then
    # claim the rest; sending it anyway would still be safe, but wasted work).
    margin = min(lease.total_seconds() / 4, 10.0)
    while time.monotonic() - started < budget_seconds:
        ids = claim(me, now=timeutil.now(), limit=batch_size(), lease=lease)
        if not ids:
            expiry = _next_lease_expiry(timeutil.now())
            if expiry is None:
                break
            wait = (expiry - timeutil.now()).total_seconds() + 0.05
            if time.monotonic() - started + wait >= budget_seconds:
                break
            time.sleep(max(wait, 0.05))
            continue
        outcome.batches += 1
        outcome.claimed += len(ids)
        lease_ends = time.monotonic() + lease.total_seconds() - margin
        broken: set[UUID] = set()
        try:
            ahead: ReadAhead | None = None
            read_until = 0
            for index, delivery_id in enumerate(ids):
                if time.monotonic() >= lease_ends:
                    break
                if ahead is None or index >= read_until or not ahead.fresh(timeutil.now()):
                    ahead = read_ahead(ids[index : index + READ_AHEAD], me)
                    read_until = index + READ_AHEAD
                try:
                    if send_claimed(delivery_id, me, ahead=ahead):
                        outcome.sent += 1
                    else:
                        outcome.lost_lease += 1
                except Exception:
                    # One broken delivery must not stop the batch; its lease runs out and
                    # it is tried again, and the error is in the log.
                    outcome.errors += 1
                    broken.add(delivery_id)
                    logger.exception("could not send delivery %s", delivery_id)
        finally:
            # A delivery that raised keeps its lease until it runs out, so it is not
            # retried at once in a loop.
            release([i for i in ids if i not in broken], me)
    outcome.seconds = time.monotonic() - started
    return outcome
