"""core.rows: the SELECT written from a model's metadata answers as the ORM's filter does."""

from __future__ import annotations

import uuid
from typing import Any

from trellis.accounts.models import Membership, User
from trellis.core.rows import rows_where


def test_rows_where_reads_what_filter_reads_with_fields_converted(cast: Any) -> None:
    alex = cast["patient_alex"]
    alex.phone = "+358 40 123 4567"
    alex.save(update_fields=["phone"])

    [row] = rows_where(User, id=alex.pk)

    assert row == alex
    assert row.phone == "+358 40 123 4567"  # decrypted, as through the ORM
    assert row.email == alex.email


def test_rows_where_takes_foreign_keys_by_id_and_orders_as_asked(cast: Any) -> None:
    maria = cast["therapist_maria"]

    assert rows_where(Membership, user_id=maria.pk, order_by="-created_at") == list(
        Membership.objects.filter(user=maria).order_by("-created_at")
    )
    assert rows_where(User, is_active=True, order_by="email") == list(
        User.objects.filter(is_active=True).order_by("email")
    )


def test_rows_where_finds_nothing_for_an_unknown_key(cast: Any) -> None:
    assert rows_where(User, id=uuid.uuid4()) == []
