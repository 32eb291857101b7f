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

`claim` is the one-statement form for an action whose answer is known before it runs (the
id of the row it is about to insert): the claim and its answer are inserted together with
`INSERT ... ON CONFLICT DO NOTHING RETURNING`, so the first time costs one statement and no
savepoint, and a repeat (or the loser of a race, once the winner has committed) reads the
stored answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils.translation import gettext as _

from trellis.core import timeutil
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


def _field(name: str) -> models.Field[Any, Any]:
    field = Submission._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _column(name: str) -> str:
    return connection.ops.quote_name(str(_field(name).column))


def claim(*, user: Any, client_id: Any, kind: str, result: dict[str, Any]) -> dict[str, Any] | None:
    """Claim `(user, client_id)` with the action's answer, in one statement.

    Returns None when this is the first time (the caller goes on and does what `result`
    promises, in the same transaction), or the stored answer of the first time. Call inside
    the action's transaction: if it rolls back, the claim goes with it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("idempotency.claim must run inside the action's transaction")
    sql, params = claim_statement(user=user, client_id=client_id, kind=kind, result=result)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.fetchone()
    if inserted is not None:
        return None
    return _stored(Submission.objects.get(user=user, client_id=_as_uuid(client_id)), kind)


def claim_statement(
    *, user: Any, client_id: Any, kind: str, result: dict[str, Any]
) -> tuple[str, list[Any]]:
    """The claim's `INSERT ... ON CONFLICT DO NOTHING RETURNING` and its parameters, for a
    caller that sends it with the rows it promises (`core.rows.ClaimedInserts`): a row
    comes back only the first time."""
    key = _as_uuid(client_id)
    values = {
        "user": getattr(user, "pk", user),
        "client_id": key,
        "kind": kind,
        "result": result,
        "created_at": timeutil.now(),
    }
    params = [_field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    return _claim_sql(), params


def _claim_sql() -> str:
    found = _CLAIM_SQL.get(connection.vendor)
    if found is not None:
        return found
    names = ("user", "client_id", "kind", "result", "created_at")
    columns = ", ".join(_column(name) for name in names)
    unique = f"{_column('user')}, {_column('client_id')}"
    # Names come from the model's own metadata; every value is a parameter.
    sql = _CLAIM_SQL[connection.vendor] = (
        f"INSERT INTO {connection.ops.quote_name(str(Submission._meta.db_table))} ({columns}) "  # noqa: S608
        f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT ({unique}) DO NOTHING "
        f"RETURNING {_column('id')}"
    )
    return sql


_CLAIM_SQL: dict[str, str] = {}


def stored(*, user: Any, client_id: Any, kind: str) -> dict[str, Any] | None:
    """The answer stored with the claim of `(user, client_id)`, or None if there is none;
    a claim of another kind of action is a Conflict."""
    found = Submission.objects.filter(user=user, client_id=_as_uuid(client_id)).first()
    return None if found is None else _stored(found, kind)
