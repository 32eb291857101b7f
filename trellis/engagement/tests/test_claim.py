"""The one-statement claim: the first time goes ahead, a repeat gets the first answer; and
claimed inserts, written with their claim or not at all."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from trellis import audit
from trellis.audit.models import AuditEvent, AuditPending
from trellis.core import timeutil
from trellis.core.errors import Conflict
from trellis.core.rows import ClaimedInserts, Inserts, columns
from trellis.engagement import idempotency
from trellis.engagement.events import emit, emit_with
from trellis.engagement.models import EngagementEvent, EventType, Submission
from trellis.journey.tests.factories import enroll_alex


def test_a_repeat_of_a_claim_gets_the_first_answer_and_writes_nothing(cast: Any) -> None:
    alex = cast["patient_alex"]
    key = uuid.uuid4()
    with transaction.atomic():
        first = idempotency.claim(user=alex, client_id=key, kind="mood", result={"mood": "a"})
    with transaction.atomic():
        again = idempotency.claim(user=alex, client_id=key, kind="mood", result={"mood": "b"})
    assert first is None
    assert again == {"mood": "a"}
    assert Submission.objects.filter(user=alex, client_id=key).count() == 1


def test_a_client_id_used_for_another_action_is_refused(cast: Any) -> None:
    alex = cast["patient_alex"]
    key = uuid.uuid4()
    with transaction.atomic():
        idempotency.claim(user=alex, client_id=key, kind="mood", result={})
    with pytest.raises(Conflict), transaction.atomic():
        idempotency.claim(user=alex, client_id=key, kind="journal", result={})


def test_a_claim_rolled_back_with_its_action_leaves_the_client_id_free(cast: Any) -> None:
    alex = cast["patient_alex"]
    key = uuid.uuid4()
    with pytest.raises(RuntimeError), transaction.atomic():
        idempotency.claim(user=alex, client_id=key, kind="mood", result={})
        raise RuntimeError("the action failed")
    with transaction.atomic():
        assert idempotency.claim(user=alex, client_id=key, kind="mood", result={}) is None


# Claimed inserts: the claim and the rows it promises, all or none (one statement on
# PostgreSQL, a transaction elsewhere).


def _claimed(alex: Any, key: uuid.UUID, enrollment: Any) -> tuple[ClaimedInserts, Any, Any]:
    claimed = ClaimedInserts(
        *idempotency.claim_statement(user=alex, client_id=key, kind="mood", result={"n": 1})
    )
    event = emit_with(claimed, enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="4")
    trail = audit.record_with(claimed, action="mood.create", actor=alex, patient=alex)
    return claimed, event, trail


def test_claimed_rows_are_written_with_the_claim_and_their_keys_set(cast: Any) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    key = uuid.uuid4()
    claimed, event, trail = _claimed(alex, key, enrollment)
    assert event.pk is None and trail.pk is None
    assert claimed.run() is True
    assert EngagementEvent.objects.get(pk=event.pk).value == "4"
    assert AuditEvent.objects.get(pk=trail.pk).action == "mood.create"
    assert AuditPending.objects.filter(event_id=trail.pk).exists()
    assert not event._state.adding and not trail._state.adding
    assert idempotency.stored(user=alex, client_id=key, kind="mood") == {"n": 1}


def test_a_repeated_claim_writes_none_of_its_rows(cast: Any) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    key = uuid.uuid4()
    assert _claimed(alex, key, enrollment)[0].run() is True
    events, trail, pending = (
        EngagementEvent.objects.count(),
        AuditEvent.objects.count(),
        AuditPending.objects.count(),
    )
    again, event, audited = _claimed(alex, key, enrollment)
    assert again.run() is False
    assert event.pk is None and audited.pk is None
    assert EngagementEvent.objects.count() == events
    assert AuditEvent.objects.count() == trail
    assert AuditPending.objects.count() == pending


def test_a_row_that_cannot_be_written_takes_the_claim_and_the_other_rows_with_it(
    cast: Any,
) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    taken = emit(enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="1")
    key = uuid.uuid4()
    events, trail = EngagementEvent.objects.count(), AuditEvent.objects.count()
    claimed, _event, _trail = _claimed(alex, key, enrollment)
    clash = EngagementEvent(
        pk=taken.pk, enrollment=enrollment, occurred_at=timeutil.now(), type="mood_checkin"
    )
    claimed.add(clash)  # its key is taken: the whole write fails
    with pytest.raises(IntegrityError), transaction.atomic():
        claimed.run()
    assert idempotency.stored(user=alex, client_id=key, kind="mood") is None
    assert EngagementEvent.objects.count() == events
    assert AuditEvent.objects.count() == trail


def test_stored_answers_none_for_an_unclaimed_client_id_and_refuses_another_kind(
    cast: Any,
) -> None:
    alex = cast["patient_alex"]
    key = uuid.uuid4()
    assert idempotency.stored(user=alex, client_id=key, kind="mood") is None
    with transaction.atomic():
        idempotency.claim(user=alex, client_id=key, kind="journal", result={})
    with pytest.raises(Conflict):
        idempotency.stored(user=alex, client_id=key, kind="mood")


def test_rows_written_together_without_a_claim_all_go_in_with_their_keys(cast: Any) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    together = Inserts()
    event = emit_with(together, enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="7")
    trail = audit.record_with(together, action="mood.create", actor=alex, patient=alex)
    assert together.run() is True
    assert EngagementEvent.objects.get(pk=event.pk).value == "7"
    assert AuditPending.objects.filter(event_id=trail.pk).exists()


def test_rows_written_together_go_in_none_when_one_cannot(cast: Any) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    taken = emit(enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="1")
    events, trail = EngagementEvent.objects.count(), AuditEvent.objects.count()
    together = Inserts()
    audit.record_with(together, action="mood.create", actor=alex, patient=alex)
    together.add(
        EngagementEvent(
            pk=taken.pk, enrollment=enrollment, occurred_at=timeutil.now(), type="mood_checkin"
        )
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        together.run()
    assert EngagementEvent.objects.count() == events
    assert AuditEvent.objects.count() == trail


def _then_marks(claimed: ClaimedInserts, event: EngagementEvent) -> None:
    """A statement after the claim: the event's value set to the claim's own id."""
    table = connection.ops.quote_name(EngagementEvent._meta.db_table)
    claim_id = connection.ops.quote_name(Submission._meta.pk.column)
    claimed.then(
        f"UPDATE {table} SET value = CAST(claim.{claim_id} AS VARCHAR(40)) FROM claim "  # noqa: S608
        f"WHERE {table}.id = %s RETURNING {columns(EngagementEvent, qualified=True)}",
        [event.pk],
        returning=EngagementEvent,
    )


def test_statements_after_a_claim_run_with_it_and_give_back_what_they_wrote(cast: Any) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    marked = emit(enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="before")
    key = uuid.uuid4()
    claimed, event, _trail = _claimed(alex, key, enrollment)
    _then_marks(claimed, marked)

    assert claimed.run() is True

    claim = Submission.objects.get(user=alex, client_id=key)
    marked.refresh_from_db()
    assert marked.value == str(claim.pk)
    assert [(e.pk, e.value) for e in claimed.returned] == [(marked.pk, str(claim.pk))]
    assert EngagementEvent.objects.filter(pk=event.pk).exists()


def test_statements_after_a_repeated_claim_do_not_run(cast: Any) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    marked = emit(enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="before")
    key = uuid.uuid4()
    assert _claimed(alex, key, enrollment)[0].run() is True
    again, _event, _trail = _claimed(alex, key, enrollment)
    _then_marks(again, marked)

    assert again.run() is False

    marked.refresh_from_db()
    assert marked.value == "before"
    assert again.returned == []


def test_a_statement_after_the_claim_that_fails_takes_the_claim_with_it(cast: Any) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now())
    taken = emit(enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="1")
    other = emit(enrollment, EventType.MOOD_CHECKIN, at=timeutil.now(), value="2")
    key = uuid.uuid4()
    events = EngagementEvent.objects.count()
    claimed, _event, _trail = _claimed(alex, key, enrollment)
    table = connection.ops.quote_name(EngagementEvent._meta.db_table)
    claimed.then(  # gives the second event the first one's key: the whole write fails
        f"UPDATE {table} SET id = %s FROM claim WHERE {table}.id = %s",  # noqa: S608
        [taken.pk, other.pk],
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        claimed.run()
    assert idempotency.stored(user=alex, client_id=key, kind="mood") is None
    assert EngagementEvent.objects.count() == events
