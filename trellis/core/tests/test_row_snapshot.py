"""core.testing.RowSnapshot: the rows a setup added come back exactly, and a setup that
cannot be replayed by inserting is refused."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from trellis.accounts import services
from trellis.accounts.models import Organization, Team
from trellis.core.testing import RowSnapshot, every_row


def _clinic() -> Organization:
    org = services.create_organization(
        name="Snapshot Clinic", slug="snapshot", time_zone="Europe/Helsinki", actor=None
    )
    services.create_team(organization=org, name="Snapshot team", actor=None)
    return org


def _sorted(rows: dict[str, list[Any]]) -> dict[str, list[str]]:
    return {table: sorted(map(repr, found)) for table, found in rows.items()}


def test_the_rows_a_setup_added_come_back_the_same(db: Any) -> None:
    with transaction.atomic():
        org, snapshot = RowSnapshot.record(_clinic)
        built = _sorted(every_row())
        transaction.set_rollback(True)
    assert snapshot is not None
    assert "accounts_team" in snapshot.added and "audit_auditevent" in snapshot.added
    assert not Organization.objects.exists()

    assert snapshot.restore()

    assert _sorted(every_row()) == built
    assert Team.objects.get(organization_id=org.pk).name == "Snapshot team"


def test_rows_that_clash_with_rows_already_there_are_not_inserted_at_all(db: Any) -> None:
    with transaction.atomic():
        _, snapshot = RowSnapshot.record(_clinic)
        transaction.set_rollback(True)
    assert snapshot is not None
    assert snapshot.restore()
    before = _sorted(every_row())

    assert not snapshot.restore()  # the same keys again

    assert _sorted(every_row()) == before


def test_a_setup_that_changes_a_row_already_there_gives_no_snapshot(db: Any) -> None:
    org = _clinic()

    def rename() -> None:
        Organization.objects.filter(pk=org.pk).update(name="Renamed Clinic")

    _, snapshot = RowSnapshot.record(rename)

    assert snapshot is None
