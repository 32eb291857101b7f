"""Delivering one due nudge: what each channel answers becomes the delivery's state.

E-mail goes to a real SMTP server on localhost (aiosmtpd): one that accepts, one that
answers 451 (try later), one that answers 550 (no such mailbox), and a port where nobody
listens."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from trellis.audit.models import AuditEvent
from trellis.care.models import EnrollmentStatus
from trellis.care.services import end_enrollment
from trellis.core.testing import SmtpServer, free_port
from trellis.engagement.models import EngagementEvent
from trellis.nudges import dispatch, respect, services
from trellis.nudges.channels import Outcome
from trellis.nudges.models import BlockReason, ContactBlock, Delivery, Notification
from trellis.nudges.tests.pipeline_helpers import alex_with, mail_settings, refusing_smtp

pytestmark = pytest.mark.django_db

TUESDAY = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York


def queue(
    cast: Any, enrollment: Any, *, channels: list[str], key: str = "k", **extra: Any
) -> Delivery:
    [row] = services.queue_nudge(
        recipient=cast["patient_alex"],
        organization=enrollment.organization,
        template=extra.pop("template", "exercise_today"),
        context={},
        key=key,
        enrollment=enrollment,
        channels=channels,
        not_before=extra.pop("not_before", TUESDAY),
        **extra,
    )
    return row


def test_an_in_app_nudge_is_delivered_once_with_its_engagement_event(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["in_app"])
    done = dispatch.deliver(row.pk, now=TUESDAY)
    assert (done.status, done.attempts, done.sent_at, done.delivered_at) == (
        "delivered",
        1,
        TUESDAY,
        TUESDAY,
    )
    notification = Notification.objects.get(user=cast["patient_alex"])
    assert notification.delivery_id == row.pk
    assert notification.link == f"/n/{row.pk}/"
    again = dispatch.deliver(row.pk, now=TUESDAY + timedelta(minutes=5))
    assert again.attempts == 1
    assert Notification.objects.count() == 1
    events = EngagementEvent.objects.filter(enrollment=enrollment, type="reminder_sent")
    assert [e.value for e in events] == ["in_app"]


def test_an_email_nudge_is_sent_over_smtp(cast: Any, smtp: SmtpServer) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    done = dispatch.deliver(row.pk, now=TUESDAY)
    assert (done.status, done.sent_at) == ("sent", TUESDAY)
    assert done.provider_id.startswith("<nudge.")
    [mail] = smtp.to(cast["patient_alex"].email)
    assert mail.message["Message-ID"] == done.provider_id


def test_a_delivery_not_yet_due_is_left_alone(cast: Any, smtp: SmtpServer) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"], not_before=TUESDAY + timedelta(hours=1))
    assert dispatch.deliver(row.pk, now=TUESDAY).status == "queued"
    assert smtp.messages == []


def test_a_stop_after_queueing_suppresses_it_at_send_time(cast: Any, smtp: SmtpServer) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    # A STOP written straight to the table (as if by another process mid-batch).
    ContactBlock.objects.create(user=cast["patient_alex"], reason=BlockReason.STOP)
    done = dispatch.deliver(row.pk, now=TUESDAY)
    assert (done.status, done.reason) == ("suppressed", "blocked_stop")
    assert smtp.messages == []


def test_a_discharge_after_queueing_suppresses_it(cast: Any, smtp: SmtpServer) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    end_enrollment(
        enrollment,
        status=EnrollmentStatus.DISCHARGED,
        reason="Finished",
        actor=cast["therapist_maria"],
        now=TUESDAY,
    )
    done = dispatch.deliver(row.pk, now=TUESDAY)
    assert (done.status, done.reason) == ("suppressed", "enrollment_discharged")
    assert smtp.messages == []


def test_an_expired_nudge_is_not_sent(cast: Any, smtp: SmtpServer) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"], expires_at=TUESDAY + timedelta(hours=1))
    done = dispatch.deliver(row.pk, now=TUESDAY + timedelta(hours=2))
    assert (done.status, done.reason) == ("suppressed", "expired")


def test_a_delivery_that_comes_due_in_quiet_hours_waits_for_them_to_end(
    cast: Any, smtp: SmtpServer
) -> None:
    enrollment = alex_with(cast, now=TUESDAY, quiet=(time(22), time(9)))
    row = queue(cast, enrollment, channels=["email"])
    late = datetime(2026, 3, 4, 3, 30, tzinfo=UTC)  # 22:30 in New York
    done = dispatch.deliver(row.pk, now=late)
    assert done.status == "queued" and done.attempts == 0
    assert done.next_attempt_at == datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # 09:00 there
    assert smtp.messages == []


def test_a_temporary_smtp_refusal_is_retried_with_backoff_then_fails(
    cast: Any, settings: Any
) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    now = TUESDAY
    with refusing_smtp(451, "mailbox busy") as server:
        mail_settings(settings, server)
        for attempt in range(1, respect.MAX_ATTEMPTS):
            row = dispatch.deliver(row.pk, now=now)
            assert (row.status, row.attempts) == ("queued", attempt)
            assert "451" in row.reason
            assert row.next_attempt_at == now + respect.backoff(attempt, key=row.key)
            now = row.next_attempt_at
        row = dispatch.deliver(row.pk, now=now)
    assert (row.status, row.attempts, row.failed_at) == ("failed", respect.MAX_ATTEMPTS, now)
    assert row.reason.startswith(f"gave up after {respect.MAX_ATTEMPTS} attempts")
    # Trying later is not a broken address: nothing is blocked, nobody is told.
    assert not ContactBlock.objects.exists()
    assert not Notification.objects.filter(user=cast["therapist_maria"]).exists()


def test_a_retry_waits_for_the_providers_retry_after_when_longer(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    services.record_outcome(row, Outcome("temporary", reason="429", retry_after=3600), at=TUESDAY)
    assert row.next_attempt_at == TUESDAY + timedelta(hours=1)


def test_an_smtp_server_that_is_down_is_a_temporary_failure(cast: Any, settings: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    mail_settings(settings, SmtpServer(host="127.0.0.1", port=free_port()))
    done = dispatch.deliver(row.pk, now=TUESDAY)
    assert (done.status, done.attempts) == ("queued", 1)
    assert done.reason.startswith("smtp:")


def test_a_mailbox_that_does_not_exist_stops_email_and_tells_the_supporters(
    cast: Any, settings: Any
) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    later = queue(cast, enrollment, channels=["email"], key="later", transactional=True)
    with refusing_smtp(550, "no such user") as server:
        mail_settings(settings, server)
        done = dispatch.deliver(row.pk, now=TUESDAY)
    assert (done.status, done.attempts, done.failed_at) == ("failed", 1, TUESDAY)
    assert "550" in done.reason
    block = ContactBlock.objects.get(user=cast["patient_alex"])
    assert (block.channel, block.reason) == ("email", BlockReason.PERMANENT_FAILURE)
    later.refresh_from_db()
    assert (later.status, later.reason) == ("suppressed", "blocked_permanent_failure")
    [told] = Notification.objects.filter(user=cast["therapist_maria"])
    assert told.read_at is None
    assert told.title == "A patient cannot be reached by E-mail"
    assert "Alex Rivera" in told.body
    supporter_delivery = Delivery.objects.get(pk=told.delivery_id)
    assert (supporter_delivery.template, supporter_delivery.status) == (
        "contact_failed",
        "delivered",
    )
    audit = AuditEvent.objects.get(action="nudges.contact_failed")
    assert audit.details["supporters_told"] == 1
    # The patient's other channel still works.
    in_app = queue(
        cast,
        enrollment,
        channels=["in_app"],
        key="next-day",
        not_before=TUESDAY + timedelta(days=1),
    )
    assert in_app.status == "queued"


def test_a_template_trellis_does_not_know_fails_without_blocking(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["in_app"], template="no_such_template")
    done = dispatch.deliver(row.pk, now=TUESDAY)
    assert done.status == "failed"
    assert "no_such_template" in done.reason
    assert not ContactBlock.objects.exists()


def test_delivering_one_email_costs_a_handful_of_queries(
    cast: Any, smtp: SmtpServer, django_assert_max_num_queries: Any
) -> None:
    """The row with the person's preferences and the clinic's limits in one read, the
    consents, the blocks, the update and the engagement event (the worker's budget of
    1,000 deliveries a second leaves no room for a query per setting)."""
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    with django_assert_max_num_queries(7):
        assert dispatch.deliver(row.pk, now=TUESDAY).status == "sent"


def test_the_number_of_attempts_is_configurable(cast: Any, settings: Any) -> None:
    settings.TRELLIS_NUDGES_MAX_ATTEMPTS = 2
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue(cast, enrollment, channels=["email"])
    with refusing_smtp(421, "try later") as server:
        mail_settings(settings, server)
        first = dispatch.deliver(row.pk, now=TUESDAY)
        assert first.next_attempt_at is not None
        second = dispatch.deliver(row.pk, now=first.next_attempt_at)
    assert (first.status, second.status, second.attempts) == ("queued", "failed", 2)
