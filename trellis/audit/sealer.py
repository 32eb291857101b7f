"""The sealer: links committed audit events into the chain, shortly after they commit.

Writers of events never wait on one another: each event is sealed on its own as it is
written (trellis.audit.chain.seal_row) and queued in AuditPending in the same transaction.
The sealer takes the chain head's lock, links what is queued in the order of the events'
ids (trellis.audit.chain.seal_link), removes it from the queue and moves the head, in one
transaction. Every clock runs it every few seconds (registered in AuditConfig.ready());
several at once take turns on the head's lock and never link an event twice. Anchoring
and the daily check run it first.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count, Min

from trellis.audit.chain import seal_link
from trellis.audit.keyring import audit_keyring
from trellis.audit.models import AuditChainHead, AuditLink, AuditPending
from trellis.core import timeutil

BATCH = 1000


def seal_pending(*, batch_size: int = BATCH, now: datetime | None = None) -> int:
    """Link every event waiting in the queue into the chain; the number linked."""
    key_id, key = audit_keyring().current
    linked = 0
    while True:
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
            waiting = list(
                AuditPending.objects.order_by("event_id").values_list("event_id", "event__hash")[
                    :batch_size
                ]
            )
            if not waiting:
                return linked
            at = now or timeutil.now()
            links = []
            prev, position = head.last_hash, head.last_position
            for event_pk, row_seal in waiting:
                position += 1
                mac = seal_link(prev, event_pk, row_seal, key_id=key_id, key=key)
                links.append(
                    AuditLink(
                        position=position,
                        event_id=event_pk,
                        prev_mac=prev,
                        mac=mac,
                        key_id=key_id,
                        sealed_at=at,
                    )
                )
                prev = mac
            AuditLink.objects.bulk_create(links)
            AuditPending.objects.filter(event_id__in=[pk for pk, _ in waiting]).delete()
            head.last_hash, head.last_position = prev, position
            head.last_event_id = waiting[-1][0]
            head.save(update_fields=["last_hash", "last_position", "last_event_id"])
        linked += len(waiting)


def sealer_lag(now: datetime | None = None) -> tuple[int, float | None]:
    """How many events wait to be linked, and how long the oldest has waited (seconds)."""
    found = AuditPending.objects.aggregate(count=Count("event_id"), oldest=Min("queued_at"))
    oldest = found["oldest"]
    if oldest is None:
        return found["count"], None
    return found["count"], max(0.0, ((now or timeutil.now()) - oldest).total_seconds())
