"""Re-encrypting stored free text under the newest data key (`trellis keys rotate`).

Works on the raw column values, never on model instances: each batch reads the
stored ciphertexts of rows not yet under the newest key, decrypts and re-encrypts
them in memory, and writes them back with one UPDATE, inside one transaction that
locks those rows. Rows already under the newest key are never selected again, so an
interrupted run simply carries on where it stopped when started again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import Case, Q, TextField, Value, When
from django.db.models.functions import Cast

from trellis.core import crypto
from trellis.core.fields import EncryptedTextField, encrypted_fields

RAW = "_trellis_raw"


def label(f: EncryptedTextField) -> str:
    return f.crypto_context


def _raw_values(f: EncryptedTextField) -> models.QuerySet[Any]:
    """The field's stored text, bypassing decryption, for rows that hold a value."""
    model = f.model
    return (
        model._base_manager.annotate(**{RAW: Cast(f.attname, output_field=TextField())})
        .exclude(**{f"{RAW}__isnull": True})
        .exclude(**{RAW: ""})
    )


def pending(f: EncryptedTextField, ring: crypto.KeyRing) -> models.QuerySet[Any]:
    """Rows whose value is not yet under the newest key (or still plain text)."""
    newest = f"{crypto.PREFIX}{ring.current_id}:"
    return _raw_values(f).exclude(**{f"{RAW}__startswith": newest})


@dataclass
class FieldResult:
    field: str
    rotated: int = 0
    remaining: int = 0


@dataclass
class RotationResult:
    key_id: str
    fields: list[FieldResult] = field(default_factory=list)
    stopped_at_limit: bool = False

    @property
    def rotated(self) -> int:
        return sum(f.rotated for f in self.fields)

    @property
    def remaining(self) -> int:
        return sum(f.remaining for f in self.fields)


def rotate_field(
    f: EncryptedTextField,
    *,
    ring: crypto.KeyRing,
    batch_size: int,
    limit: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> FieldResult:
    """Re-encrypt one field's values, `batch_size` rows per transaction, oldest pk first."""
    result = FieldResult(label(f))
    context = f.crypto_context
    model = f.model
    while limit is None or result.rotated < limit:
        take = batch_size if limit is None else min(batch_size, limit - result.rotated)
        with transaction.atomic():
            rows = list(
                pending(f, ring).select_for_update().order_by("pk").values_list("pk", RAW)[:take]
            )
            if not rows:
                break
            whens = []
            for pk, stored in rows:
                plain = (
                    crypto.decrypt(stored, context=context, ring=ring)
                    if stored.startswith(crypto.PREFIX)
                    else stored  # written before the column was encrypted
                )
                new = crypto.encrypt(plain, context=context, ring=ring)
                # Only overwrite the value that was read: a concurrent edit wins.
                whens.append(When(Q(pk=pk) & Q(**{f.attname: Value(stored)}), then=Value(new)))
            model._base_manager.filter(pk__in=[pk for pk, _ in rows]).update(
                **{f.attname: Case(*whens, default=models.F(f.attname), output_field=TextField())}
            )
        result.rotated += len(rows)
        if progress is not None:
            progress(result.field, result.rotated)
    result.remaining = pending(f, ring).count()
    return result


def rotate(
    *,
    batch_size: int = 500,
    limit: int | None = None,
    ring: crypto.KeyRing | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> RotationResult:
    """Re-encrypt every encrypted value not under the newest key; `limit` caps rows per run."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    ring = ring or crypto.keyring()
    outcome = RotationResult(key_id=ring.current_id)
    budget = limit
    for f in encrypted_fields():
        if budget is not None and budget <= 0:
            outcome.fields.append(FieldResult(label(f), 0, pending(f, ring).count()))
            outcome.stopped_at_limit = True
            continue
        done = rotate_field(f, ring=ring, batch_size=batch_size, limit=budget, progress=progress)
        outcome.fields.append(done)
        if budget is not None:
            budget -= done.rotated
            if done.remaining:
                outcome.stopped_at_limit = True
    return outcome


def key_usage() -> dict[str, Counter[str]]:
    """For each encrypted field, how many stored values are under each key id."""
    usage: dict[str, Counter[str]] = {}
    for f in encrypted_fields():
        counts: Counter[str] = Counter()
        for stored in _raw_values(f).values_list(RAW, flat=True).iterator(chunk_size=2000):
            counts[crypto.key_id_of(stored) or "(plain text)"] += 1
        usage[label(f)] = counts
    return usage
