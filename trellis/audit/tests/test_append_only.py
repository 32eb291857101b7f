import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from trellis.audit.models import AuditChainHead, AuditEvent, AuditLink
from trellis.audit.sealer import seal_pending
from trellis.audit.services import record
from trellis.core.testing import need_postgres


@pytest.fixture
def event(db):
    need_postgres()
    record(action="test.before")
    event = record(action="test.protected", details={"kept": True})
    seal_pending()
    return event


def _refused(action) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        action()
    return str(caught.value)


def test_orm_update_is_refused_by_the_database(event):
    message = _refused(
        lambda: AuditEvent.objects.filter(pk=event.pk).update(action="test.rewritten")
    )
    assert "append-only" in message
    event.refresh_from_db()
    assert event.action == "test.protected"


def test_orm_save_of_a_changed_event_is_refused(event):
    event.details = {"kept": False}
    _refused(lambda: event.save())
    assert AuditEvent.objects.get(pk=event.pk).details == {"kept": True}


def test_orm_delete_is_refused_by_the_database(event):
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_raw_sql_update_is_refused(event):
    def update() -> None:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])

    assert "UPDATE" in _refused(update)
    assert AuditEvent.objects.get(pk=event.pk).action == "test.protected"


def test_raw_sql_delete_is_refused(event):
    def delete() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent")

    assert "DELETE" in _refused(delete)
    assert AuditEvent.objects.count() == 2


def _linked_after(event: AuditEvent, later: AuditEvent) -> bool:
    seal_pending()
    return AuditLink.objects.get(event=later).prev_mac == AuditLink.objects.get(event=event).mac


def test_inserting_new_events_still_works(event):
    assert _linked_after(event, record(action="test.after"))


def test_raw_sql_changes_to_the_chain_links_are_refused(event):
    for statement in (
        "UPDATE audit_auditlink SET mac = 'x'",
        "DELETE FROM audit_auditlink",
    ):

        def run(sql: str = statement) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql)

        assert "audit chain links are append-only" in _refused(run)
    assert AuditLink.objects.count() == 2


@pytest.fixture
def app_role(event):
    """A database role like the one the application should run as: not a superuser, with
    every table right (TRUNCATE included), inside the test's transaction (so it goes away)."""
    name = f"trellis_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} NOSUPERUSER NOLOGIN")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE "
            f"ON audit_auditevent, audit_auditchainhead, audit_auditlink, audit_auditpending "
            f"TO {name}"
        )
        cursor.execute(f"SET LOCAL ROLE {name}")
        # Check the links' foreign keys now rather than at commit, so TRUNCATE reaches the
        # triggers instead of stopping at pending checks.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield name
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def _as_app(statement: str) -> str:
    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement)

    return _refused(run)


def test_truncating_the_trail_is_refused_even_with_the_truncate_right(app_role):
    # With the tables that point at the events (the links and the sealer's queue).
    message = _as_app("TRUNCATE audit_auditevent, audit_auditpending, audit_auditlink")
    assert "append-only: TRUNCATE on audit_auditevent is refused" in message
    assert AuditEvent.objects.count() == 2


def test_truncating_the_chain_head_is_refused(app_role):
    assert "TRUNCATE on audit_auditchainhead" in _as_app("TRUNCATE audit_auditchainhead")
    assert AuditChainHead.objects.filter(pk=1).exists()


def test_deleting_the_chain_head_is_refused(app_role):
    assert "DELETE on audit_auditchainhead" in _as_app("DELETE FROM audit_auditchainhead")
    assert AuditChainHead.objects.filter(pk=1).exists()


def test_truncating_the_chain_links_is_refused(app_role):
    assert "TRUNCATE on audit_auditlink" in _as_app("TRUNCATE audit_auditlink")
    assert AuditLink.objects.count() == 2


def test_the_application_role_still_writes_and_seals_events(app_role, event):
    assert _linked_after(event, record(action="test.as_app"))
