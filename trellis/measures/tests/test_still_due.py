"""A submission is read, then written only if what was read still holds; anything that
changed in between (the program's status, the questionnaire it answers) is read, checked
and written again under the enrollment's lock. These tests change things between the read
and the write: with an enrollment read before a change, and, on PostgreSQL, from another
connection at the moment the write is sent."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.core.testing import need_postgres
from trellis.measures.models import (
    AssignmentStatus,
    Occasion,
    QuestionnaireAssignment,
    QuestionnaireResponse,
)
from trellis.measures.services import OPEN, ResponseInvalid, submit_response
from trellis.measures.tests.conftest import MEASURES_START, all_ones

GAD7 = all_ones(7, 2)


def submit(enrollment: Enrollment, at: datetime, **kw: Any) -> Any:
    return submit_response(
        enrollment,
        "GAD-7",
        actor=enrollment.patient,
        answers=GAD7,
        client_id=kw.pop("client_id", uuid.uuid4()),
        now=at,
        **kw,
    )


def stored(enrollment: Enrollment) -> int:
    return QuestionnaireResponse.objects.filter(enrollment=enrollment).count()


def test_a_program_ended_after_the_enrollment_was_read_refuses_the_submission(
    alex_in_program: Enrollment, start: datetime
) -> None:
    read_before = Enrollment.objects.get(pk=alex_in_program.pk)
    Enrollment.objects.filter(pk=alex_in_program.pk).update(status=EnrollmentStatus.WITHDRAWN)
    with pytest.raises(ResponseInvalid) as refused:
        submit(read_before, start)
    assert "enrollment" in refused.value.message_dict
    assert stored(alex_in_program) == 0
    assert not AuditEvent.objects.filter(action="measures.submit").exists()


def test_a_program_read_as_ended_but_active_again_takes_the_submission(
    alex_in_program: Enrollment, start: datetime
) -> None:
    read_before = Enrollment.objects.get(pk=alex_in_program.pk)
    read_before.status = EnrollmentStatus.COMPLETED  # as read before it was reopened
    done = submit(read_before, start)
    assert done.created and done.response.assignment.occasion == Occasion.BASELINE
    assert stored(alex_in_program) == 1


@pytest.fixture
def second(alex_in_program: Enrollment) -> QuestionnaireAssignment:
    """On PostgreSQL, a second GAD-7 open beside the baseline, come due a minute later."""
    need_postgres()
    return QuestionnaireAssignment.objects.create(
        enrollment=alex_in_program,
        instrument="GAD-7",
        occasion=Occasion.PROGRAM_STEP,
        sequence=700,
        due_from=MEASURES_START + timedelta(minutes=1),
        overdue_after=MEASURES_START + timedelta(days=1),
        closes_at=MEASURES_START + timedelta(days=2),
    )


@contextmanager
def before_each_write(change: Callable[[], None]) -> Iterator[list[int]]:
    """Run `change` on another connection (committed at once) just before each response
    INSERT this connection sends; yields how many times it ran."""
    ran: list[int] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if 'INSERT INTO "measures_questionnaireresponse"' in sql:
            elsewhere = threading.Thread(target=_on_own_connection, args=(change,))
            elsewhere.start()
            elsewhere.join(timeout=30)
            ran.append(1)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield ran


def _on_own_connection(change: Callable[[], None]) -> None:
    try:
        change()
    finally:
        connection.close()


def _cancel_earliest_open(enrollment: Enrollment) -> Callable[[], None]:
    def cancel() -> None:
        earliest = (
            QuestionnaireAssignment.objects.filter(
                enrollment=enrollment, instrument="GAD-7", status__in=OPEN
            )
            .order_by("due_from")
            .first()
        )
        assert earliest is not None
        QuestionnaireAssignment.objects.filter(pk=earliest.pk).update(
            status=AssignmentStatus.CANCELLED
        )

    return cancel


@pytest.mark.django_db(transaction=True)
def test_a_questionnaire_closed_between_the_read_and_the_write_is_read_again_on_postgresql(
    alex_in_program: Enrollment, second: QuestionnaireAssignment
) -> None:
    at = MEASURES_START + timedelta(minutes=5)
    # The baseline is read, then closed elsewhere before the write: the write finds it
    # closed and writes nothing. Read again under the lock, the second one is chosen; the
    # change runs before that write too and closes it: nothing is stored, and the patient
    # is asked to send the answers again.
    with (
        before_each_write(_cancel_earliest_open(alex_in_program)) as ran,
        pytest.raises(ResponseInvalid) as refused,
    ):
        submit(alex_in_program, at)
    assert len(ran) == 2
    assert refused.value.message_dict["instrument"] == [
        "This questionnaire changed while it was being answered: send it again."
    ]
    assert stored(alex_in_program) == 0
    assert not AuditEvent.objects.filter(action="measures.submit").exists()
    second.refresh_from_db()
    assert second.status == AssignmentStatus.CANCELLED  # by the change, not by an answer


@pytest.mark.django_db(transaction=True)
def test_after_one_change_the_submission_answers_what_is_open_under_the_lock_on_postgresql(
    alex_in_program: Enrollment, second: QuestionnaireAssignment
) -> None:
    at = MEASURES_START + timedelta(minutes=5)
    once: list[int] = []

    def cancel_first_time() -> None:
        if not once:
            once.append(1)
            _cancel_earliest_open(alex_in_program)()

    with before_each_write(cancel_first_time) as ran:
        done = submit(alex_in_program, at)
    assert len(ran) == 2  # the first write found its questionnaire closed; the second went in
    assert done.created and done.response.assignment_id == second.pk
    second.refresh_from_db()
    assert second.status == AssignmentStatus.COMPLETED
    assert stored(alex_in_program) == 1
    assert AuditEvent.objects.filter(action="measures.submit").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_submissions_for_one_open_questionnaire_store_one_on_postgresql(
    alex_in_program: Enrollment,
) -> None:
    """Two devices answer the one open questionnaire at the same moment, with different
    client ids: one is stored, the other is told it is no longer due."""
    need_postgres()
    start = MEASURES_START
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def answer() -> None:
        try:
            barrier.wait(timeout=10)
            submit(alex_in_program, start)
            outcomes.append("stored")
        except ResponseInvalid as refused:
            outcomes.append(refused.message_dict["instrument"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["This questionnaire is not due now.", "stored"]
    assert stored(alex_in_program) == 1
    assert AuditEvent.objects.filter(action="measures.submit").count() == 1
