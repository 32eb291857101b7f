"""Background jobs of the audit trail."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.tasks import task

from trellis import audit
from trellis.audit.integrity import anchor_chain, verify_chain
from trellis.audit.sealer import seal_pending
from trellis.core.periodic import periodic

logger = logging.getLogger(__name__)


@periodic(every=timedelta(days=1))
@task
def verify_audit_chain() -> dict[str, Any]:
    """Daily: link what waits for the sealer, walk the whole audit chain and check it
    against every anchor, and record in the trail whether it held.

    A break is logged as an error too, so the clinic's log monitoring raises it.
    """
    seal_pending()
    result = verify_chain()
    with transaction.atomic():
        if result.ok:
            audit.record(
                action="audit.verified",
                actor_label="daily audit check",
                details={"verified": result.verified},
            )
        else:
            audit.record(
                action="audit.verify_failed",
                actor_label="daily audit check",
                details={
                    "verified": result.verified,
                    "first_failing_row": result.broken_event,
                    "reason": result.reason,
                },
            )
    if not result.ok:
        logger.error(
            "audit chain check failed at row id=%s after %s verified events: %s",
            result.broken_event,
            result.verified,
            result.reason,
        )
    return {"ok": result.ok, "verified": result.verified, "broken_event": result.broken_event}


@periodic(every=timedelta(hours=1))
@task
def anchor_audit_chain() -> dict[str, Any]:
    """Hourly: check the events since the last anchor, then write a signed anchor of the
    chain's head to the anchor file and the log (trellis.audit.integrity.anchor_chain).

    A refused anchor (the check failed, or the file could not be written) is logged as an
    error and written nowhere else: nothing may vouch for a broken chain.
    """
    outcome = anchor_chain()
    if not outcome.result.ok:
        logger.error(
            "audit anchor refused at row id=%s: %s",
            outcome.result.broken_event,
            outcome.result.reason,
        )
        return {"ok": False, "event": None, "broken_event": outcome.result.broken_event}
    event = outcome.anchor.event if outcome.anchor else None
    return {"ok": True, "event": event, "broken_event": None}
