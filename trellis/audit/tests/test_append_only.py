import pytest
from django.db import DatabaseError, connection, transaction

from trellis.audit.models import AuditEvent
from trellis.audit.services import record
from trellis.core.testing import need_postgres


@pytest.fixture
def event(db):
    need_postgres()
    record(action="test.before")
    return record(action="test.protected", details={"kept": True})


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


def test_inserting_new_events_still_works(event):
    later = record(action="test.after")
    assert later.prev_hash == event.hash
