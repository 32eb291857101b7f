"""Re-encrypting stored free text under the newest data key (`trellis keys rotate`).

Works on the raw column values, never on model instances: each batch reads the
stored ciphertexts of rows not yet under the newest key, decrypts and re-encrypts
them in memory, and writes them back with one UPDATE, inside one transaction that
locks those rows. Rows already under the newest key are never selected again, so an
interrupted run simply carries on where it stopped when started again.

The same batches serve the data migrations that turn a plain-text column into an
encrypted one (`encrypt_existing`, and `decrypt_existing` to undo it).
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


def _rewrite(
    f: EncryptedTextField,
    selection: Callable[[], models.QuerySet[Any]],
    rewrite: Callable[[str], str],
    *,
    batch_size: int,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rewrite the stored values `selection()` selects, `batch_size` rows per transaction, oldest
    pk first; a row leaves `selection()` once rewritten. Returns how many rows were rewritten."""
    model = f.model
    done = 0
    while limit is None or done < limit:
        take = batch_size if limit is None else min(batch_size, limit - done)
        with transaction.atomic():
            rows = list(
                selection().select_for_update().order_by("pk").values_list("pk", RAW)[:take]
            )
            if not rows:
                break
            whens = [
                # Only overwrite the value that was read: a concurrent edit wins.
                When(Q(pk=pk) & Q(**{f.attname: Value(stored)}), then=Value(rewrite(stored)))
                for pk, stored in rows
            ]
            model._base_manager.filter(pk__in=[pk for pk, _ in rows]).update(
                **{f.attname: Case(*whens, default=models.F(f.attname), output_field=TextField())}
            )
        done += len(rows)
        if progress is not None:
            progress(done)
    return done


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

    def under_newest(stored: str) -> str:
        plain = (
            crypto.decrypt(stored, context=context, ring=ring)
            if stored.startswith(crypto.PREFIX)
            else stored  # written before the column was encrypted
        )
        return crypto.encrypt(plain, context=context, ring=ring)

    result.rotated = _rewrite(
        f,
        lambda: pending(f, ring),
        under_newest,
        batch_size=batch_size,
        limit=limit,
        progress=None if progress is None else (lambda done: progress(result.field, done)),
    )
    result.remaining = pending(f, ring).count()
    return result


def _field(model: type[models.Model], name: str) -> EncryptedTextField:
    f = model._meta.get_field(name)
    if not isinstance(f, EncryptedTextField):
        raise TypeError(f"{model._meta.label_lower}.{name} is not an encrypted field")
    return f


def encrypt_existing(model: type[models.Model], *names: str, batch_size: int = 500) -> int:
    """A data migration's step after columns became encrypted: encrypt every value still
    stored as plain text (values already encrypted are brought under the newest key).

    `model` is the migration's historical model (`apps.get_model`). Running it again finds
    nothing left to do. Returns how many values were written.
    """
    ring = crypto.keyring()
    return sum(
        rotate_field(_field(model, name), ring=ring, batch_size=batch_size).rotated
        for name in names
    )


def decrypt_existing(model: type[models.Model], *names: str, batch_size: int = 500) -> int:
    """The reverse of `encrypt_existing`, for undoing such a migration: write every encrypted
    value back as plain text. Returns how many values were written."""
    ring = crypto.keyring()
    return sum(
        _decrypt_field(_field(model, name), ring=ring, batch_size=batch_size) for name in names
    )


def _decrypt_field(f: EncryptedTextField, *, ring: crypto.KeyRing, batch_size: int) -> int:
    context = f.crypto_context

    def encrypted() -> models.QuerySet[Any]:
        return _raw_values(f).filter(**{f"{RAW}__startswith": crypto.PREFIX})

    def plain(stored: str) -> str:
        return crypto.decrypt(stored, context=context, ring=ring)

    return _rewrite(f, encrypted, plain, batch_size=batch_size)


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
