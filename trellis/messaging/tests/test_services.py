"""Sending and reading messages: who may write, idempotency, waiting time, receipts, audit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment
from trellis.care.services import end_enrollment
from trellis.demo import personas
from trellis.engagement.models import EngagementEvent
from trellis.messaging import queries, services
from trellis.messaging.models import Message, Thread


def send(enrollment: Enrollment, sender: Any, at: datetime, body: str = "Hello", **kw: Any):
    return services.send_message(
        enrollment,
        sender=sender,
        body=body,
        client_id=kw.pop("client_id", uuid.uuid4()),
        now=at,
        **kw,
    )


def test_a_patient_message_is_stored_encrypted_with_one_event_and_an_audit_row(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    message = send(alex_enrollment, cast["patient_alex"], start, "I felt calmer today")
    assert message.from_patient
    assert Message.objects.get(pk=message.pk).body == "I felt calmer today"
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messaging_message WHERE id = %s", [message.pk.hex])
        row = cursor.fetchone()
    if row is None:  # PostgreSQL stores the uuid with dashes
        with connection.cursor() as cursor:
            cursor.execute("SELECT body FROM messaging_message WHERE id = %s", [str(message.pk)])
            row = cursor.fetchone()
    assert row is not None and "calmer" not in row[0] and row[0].startswith("enc:")
    events = list(EngagementEvent.objects.filter(enrollment=alex_enrollment))
    assert [(e.type, e.value) for e in events] == [("message_sent", "19")]
    audit = AuditEvent.objects.get(action="message.send")
    assert audit.patient_id == cast["patient_alex"].pk


def test_the_same_client_id_twice_sends_one_message(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    client_id = uuid.uuid4()
    first = send(alex_enrollment, cast["patient_alex"], start, client_id=client_id)
    again = send(alex_enrollment, cast["patient_alex"], start, client_id=client_id)
    assert again.pk == first.pk
    assert Message.objects.count() == 1
    assert EngagementEvent.objects.filter(type="message_sent").count() == 1
    assert AuditEvent.objects.filter(action="message.send").count() == 1


@pytest.mark.parametrize("body", ["", "   \n ", "x" * 5_001])
def test_an_empty_or_overlong_message_is_refused_on_the_body_field(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime, body: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        send(alex_enrollment, cast["patient_alex"], start, body)
    assert "body" in refused.value.message_dict
    assert not Message.objects.exists()
    assert not EngagementEvent.objects.exists()


def test_messaging_an_ended_program_is_refused_with_a_clear_reason(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    end_enrollment(
        alex_enrollment,
        status="discharged",
        reason="Finished treatment",
        actor=cast["therapist_maria"],
        now=start,
    )
    with pytest.raises(ValidationError) as refused:
        send(alex_enrollment, cast["therapist_maria"], start + timedelta(hours=1))
    assert "program has ended" in str(refused.value)
    assert not Message.objects.exists()


@pytest.mark.parametrize("who", ["coach_jordan", "therapist_sam", "patient_blair", "admin_avery"])
def test_only_the_patient_the_care_team_and_supervisors_may_write(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime, who: str
) -> None:
    with pytest.raises(PermissionDenied):
        send(alex_enrollment, cast[who], start)
    assert not Message.objects.exists()


def test_a_supervisor_of_the_clinic_may_reply(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    message = send(alex_enrollment, cast["supervisor_ruth"], start)
    assert not message.from_patient


def test_waiting_since_is_the_first_unanswered_patient_message_until_the_care_team_replies(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    alex, maria = cast["patient_alex"], cast["therapist_maria"]
    send(alex_enrollment, alex, start)
    send(alex_enrollment, alex, start + timedelta(hours=3))
    thread = Thread.objects.get(enrollment=alex_enrollment)
    assert thread.waiting_since == start
    assert thread.last_message_at == start + timedelta(hours=3)
    send(alex_enrollment, maria, start + timedelta(days=1), support_minutes=6)
    thread.refresh_from_db()
    assert thread.waiting_since is None
    send(alex_enrollment, alex, start + timedelta(days=2))
    thread.refresh_from_db()
    assert thread.waiting_since == start + timedelta(days=2)


def test_opening_the_thread_gives_the_other_sides_messages_a_read_receipt(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    alex, maria = cast["patient_alex"], cast["therapist_maria"]
    asked = send(alex_enrollment, alex, start)
    answered = send(alex_enrollment, maria, start + timedelta(hours=1))
    assert queries.unread_count(maria) == 1
    assert queries.unread_count(alex) == 1
    assert services.mark_read(alex_enrollment, reader=maria, now=start + timedelta(hours=2)) == 1
    asked.refresh_from_db()
    answered.refresh_from_db()
    assert asked.read_at == start + timedelta(hours=2)
    assert answered.read_at is None
    assert queries.unread_count(maria) == 0
    assert AuditEvent.objects.filter(action="message.read").count() == 1
    services.mark_read(alex_enrollment, reader=alex, now=start + timedelta(hours=3))
    answered.refresh_from_db()
    assert answered.read_at == start + timedelta(hours=3)
    assert queries.unread_count(alex) == 0


def test_a_colleague_who_may_only_read_leaves_no_receipt_but_is_audited(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    asked = send(alex_enrollment, cast["patient_alex"], start)
    services.mark_read(alex_enrollment, reader=cast["coach_jordan"], now=start)
    asked.refresh_from_db()
    assert asked.read_at is None
    assert AuditEvent.objects.filter(action="message.read", actor_id=cast["coach_jordan"].pk)


def test_reply_times_count_each_patient_message_until_this_supporters_first_reply(
    cast: personas.Cast, alex_enrollment: Enrollment, start: datetime
) -> None:
    alex, maria, ruth = cast["patient_alex"], cast["therapist_maria"], cast["supervisor_ruth"]
    send(alex_enrollment, alex, start)
    send(alex_enrollment, alex, start + timedelta(hours=1))
    send(alex_enrollment, maria, start + timedelta(hours=4))
    send(alex_enrollment, alex, start + timedelta(days=1))
    send(alex_enrollment, ruth, start + timedelta(days=1, hours=2))
    send(alex_enrollment, maria, start + timedelta(days=1, hours=3))
    send(alex_enrollment, alex, start + timedelta(days=2))  # still waiting
    times = queries.reply_times(maria, start)
    assert sorted(times) == [3 * 3600, 4 * 3600]
    assert queries.median_seconds(times) == 3.5 * 3600
    assert queries.reply_times(ruth, start) == [2 * 3600]
    assert queries.reply_times(maria, start + timedelta(days=3)) == []
    assert queries.median_seconds([]) is None


def test_the_reply_promise_defaults_to_two_working_days(
    cast: personas.Cast, alex_enrollment: Enrollment
) -> None:
    from trellis.messaging.models import ClinicMessagingSettings

    assert queries.reply_promise(alex_enrollment.organization) == 2
    ClinicMessagingSettings.objects.create(
        organization=alex_enrollment.organization, reply_within_working_days=3
    )
    assert queries.reply_promise(alex_enrollment.organization) == 3
