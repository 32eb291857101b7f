"""The record's log of reminders and messages sent: what, when (in the reader's zone), by
which channel, whether it went and why not, opened or not; one query however long the log;
the read is in the audit trail; other patients' and other clinics' deliveries stay out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment, Preferences
from trellis.journey.tests.factories import enroll_alex
from trellis.nudges import dispatch, services
from trellis.nudges.models import Delivery
from trellis.nudges.queries import LOG_SHOWN, delivery_log

pytestmark = pytest.mark.django_db

# 18:05 UTC on 1 July 2026 is 14:05 in New York and 13:05 in Chicago (summer time).
SENT = datetime(2026, 7, 1, 18, 5, tzinfo=UTC)


def _delivery(enrollment: Enrollment | None, recipient: Any, org: Any, **fields: Any) -> Delivery:
    n = Delivery.objects.count()
    values: dict[str, Any] = {
        "key": f"test:{n}:{fields.get('channel', 'email')}",
        "organization": org,
        "recipient": recipient,
        "enrollment": enrollment,
        "channel": "email",
        "template": "exercise_today",
        "status": "sent",
        "not_before": SENT,
        "sent_at": SENT,
        **fields,
    }
    return Delivery.objects.create(**values)


def _log_section(page: str) -> str:
    found = re.search(r'aria-labelledby="deliveries-heading".*?</section>', page, re.S)
    assert found, "the record has no delivery log"
    return found.group(0)


def _record(client: Any, enrollment: Enrollment) -> str:
    response = client.get(reverse("caseload:record", kwargs={"pk": enrollment.pk}))
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_log_names_each_delivery_in_plain_words_with_why_it_was_not_sent(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    alex, org = cast["patient_alex"], enrollment.organization
    _delivery(enrollment, alex, org, opened_at=SENT + timedelta(minutes=20))
    _delivery(
        enrollment,
        alex,
        org,
        channel="sms",
        template="questionnaire_due",
        status="suppressed",
        reason="quiet_hours",
        sent_at=None,
    )
    _delivery(
        None,
        alex,
        org,
        channel="sms",
        template="appointment_24h",
        status="failed",
        reason="permanent_failure",
        attempts=3,
        sent_at=None,
        failed_at=SENT,
    )
    log = _log_section(_record(client_for("therapist_maria"), enrollment))
    assert "Reminders and messages sent" in log
    assert "Reminder of today&#x27;s exercise" in log
    assert "A questionnaire is due" in log
    assert "Live session tomorrow" in log
    assert "in the patient&#x27;s quiet hours" in log
    assert "the address does not work" in log
    assert "after 3 attempts" in log
    assert "Text message" in log and "E-mail" in log
    assert 'class="nudge-failed"' in log
    assert "exercise_today" not in log  # the code never shows where words exist
    assert log.count("not yet") == 2  # the two that were not opened
    assert "E-mail</span>" in log and "Text message:" in log


def test_times_are_in_the_readers_zone(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    _delivery(enrollment, cast["patient_alex"], enrollment.organization)
    maria = cast["therapist_maria"]
    maria.time_zone = "America/Chicago"
    maria.save(update_fields=["time_zone"])
    assert "1 Jul 2026 13:05" in _log_section(_record(client_for("therapist_maria"), enrollment))
    jordan = cast["coach_jordan"]
    jordan.time_zone = "Europe/Helsinki"
    jordan.save(update_fields=["time_zone"])
    assert "1 Jul 2026 21:05" in _log_section(_record(client_for("coach_jordan"), enrollment))


def test_a_patient_with_nothing_sent_reads_so(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    log = _log_section(_record(client_for("therapist_maria"), enrollment))
    assert "Nothing has been sent to this patient yet." in log
    assert "<table" not in log


def test_other_patients_and_other_clinics_deliveries_stay_out(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    alex = cast["patient_alex"]
    _delivery(enrollment, alex, enrollment.organization, template="weekly_summary")
    _delivery(None, cast["patient_blair"], enrollment.organization, template="inactivity")
    _delivery(None, alex, cast.clinics["hillside"], template="message_waiting")
    log = _log_section(_record(client_for("therapist_maria"), enrollment))
    assert "Your week (summary)" in log
    assert "A warm word after a few quiet days" not in log
    assert "A message from the care team is waiting" not in log


def test_the_log_is_one_query_newest_first_and_bounded(
    cast: Any, django_assert_num_queries: Any
) -> None:
    enrollment = enroll_alex(cast)
    alex, org = cast["patient_alex"], enrollment.organization
    for n in range(LOG_SHOWN + 5):
        at = SENT + timedelta(minutes=(n * 7) % 60, hours=n)
        _delivery(enrollment, alex, org, template=f"t{n}", not_before=at, sent_at=at)
    with django_assert_num_queries(1):
        log = delivery_log(enrollment)
    assert len(log) == LOG_SHOWN
    assert log[0].template == f"t{LOG_SHOWN + 4}"
    assert [nudge.at for nudge in log] == sorted((nudge.at for nudge in log), reverse=True)


def test_the_record_costs_the_same_queries_with_a_long_log(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    client = client_for("therapist_maria")
    url = reverse("caseload:record", kwargs={"pk": enrollment.pk})

    def cost() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    cost()  # warm the session
    quiet = cost()
    alex, org = cast["patient_alex"], enrollment.organization
    for n in range(40):
        _delivery(enrollment, alex, org, channel=("email", "sms", "push", "in_app")[n % 4])
    assert cost() == quiet


def test_reading_the_log_is_the_audited_read_of_the_record(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    _delivery(enrollment, cast["patient_alex"], enrollment.organization)
    before = AuditEvent.objects.filter(action="record.view").count()
    _record(client_for("coach_jordan"), enrollment)
    event = AuditEvent.objects.filter(action="record.view").latest("id")
    assert AuditEvent.objects.filter(action="record.view").count() == before + 1
    assert str(event.patient_id) == str(cast["patient_alex"].pk)
    assert str(event.actor_id) == str(cast["coach_jordan"].pk)


def test_a_nudge_by_several_channels_is_one_line_through_the_real_pipeline(
    cast: Any, client_for: Any
) -> None:
    """Queued and delivered by the pipeline: Alex chose e-mail and Trellis, and has no
    number, so the text is not sent; one line says how each channel went."""
    enrollment = enroll_alex(cast, now=SENT - timedelta(days=3))
    alex = cast["patient_alex"]
    Preferences.objects.update_or_create(
        user=alex, defaults={"reminder_channels": ["in_app", "email", "sms"]}
    )
    rows = services.queue_nudge(
        recipient=alex,
        organization=enrollment.organization,
        template="questionnaire_due",
        context={},
        key="log:check-in",
        enrollment=enrollment,
        not_before=SENT,
    )
    for row in rows:
        dispatch.deliver(row.pk, now=SENT)
    [nudge] = delivery_log(enrollment)
    assert [(d.channel, d.status) for d in nudge.deliveries] == [
        ("email", "sent"),
        ("sms", "suppressed"),
        ("in_app", "delivered"),
    ]
    log = _log_section(_record(client_for("therapist_maria"), enrollment))
    assert log.count('<th scope="row">') == 1
    assert "A questionnaire is due" in log
    assert "no address or number for this channel" in log


def test_a_failure_after_the_last_attempt_says_why_in_words(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    _delivery(
        enrollment,
        cast["patient_alex"],
        enrollment.organization,
        channel="sms",
        status="failed",
        reason="gave up after 5 attempts: provider_unreachable",
        attempts=5,
        sent_at=None,
        failed_at=SENT,
    )
    log = _log_section(_record(client_for("therapist_maria"), enrollment))
    assert "still failing after the last attempt (the provider could not be reached)" in log
    assert "after 5 attempts" in log
