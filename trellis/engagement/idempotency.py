"""Idempotent submissions: a repeat of the same client id gets the first answer, nothing twice.

The patient app (form or API) sends a client-generated UUID with every write. `once`
claims `(user, client_id)` in the Submission table inside the caller's transaction:

- the first time, it runs the action and stores the action's result with the claim;
- a repeat (double tap, retry after a dropped connection) finds the claim and returns the
  stored result without running the action;
- two copies arriving at the same moment race on the unique constraint: on PostgreSQL the
  second insert waits for the first transaction, then fails, and the loser reads the
  winner's committed result. If the first transaction rolls back, the claim disappears with
  it and the second goes ahead.

A client id reused for a different kind of action is refused (it is a client bug).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trellis.core.errors import Conflict
from trellis.engagement.models import Submission


def _as_uuid(client_id: Any) -> uuid.UUID:
    try:
        return client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError({"client_id": _("This is not a valid client id (a UUID).")}) from None


def _stored(submission: Submission, kind: str) -> dict[str, Any]:
    if submission.kind != kind:
        raise Conflict({"client_id": "This client id was already used for a different action."})
    return dict(submission.result)


def once(
    *, user: Any, client_id: Any, kind: str, act: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], bool]:
    """Run `act` once per (user, client_id); returns (result, True) the first time and
    (the first result, False) on any repeat. Call inside the action's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("idempotency.once must run inside the action's transaction")
    key = _as_uuid(client_id)
    existing = Submission.objects.filter(user=user, client_id=key).first()
    if existing is not None:
        return _stored(existing, kind), False
    try:
        with transaction.atomic():
            claim = Submission.objects.create(user=user, client_id=key, kind=kind, result={})
    except IntegrityError:
        # A concurrent copy of this submission committed first: answer as it did.
        return _stored(Submission.objects.get(user=user, client_id=key), kind), False
    result = act()
    claim.result = result
    claim.save(update_fields=["result"])
    return result, True
