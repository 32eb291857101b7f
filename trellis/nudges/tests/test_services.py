"""Queueing a nudge with respect: one row per channel, every suppression a row with its
reason, quiet and allowed hours in the patient's zone (across daylight-saving weeks),
channel opt-outs, blocks, caps in the patient's local day and week, discharge and consent."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from trellis.audit.models import AuditEvent
from trellis.care.consent import current_documents, give_consent, withdraw_consent
from trellis.care.models import ConsentKind, EnrollmentStatus
from trellis.care.services import end_enrollment
from trellis.core.testing import need_postgres
from trellis.engagement.models import EngagementEvent
from trellis.nudges import services
from trellis.nudges.models import (
    BlockReason,
    ContactBlock,
    Delivery,
    DeliveryStatus,
    Notification,
    OutreachSettings,
)
from trellis.nudges.tests.pipeline_helpers import alex_with

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
HELSINKI = ZoneInfo("Europe/Helsinki")
TUESDAY = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York


def queue(cast: Any, enrollment: Any, key: str, at: datetime, **extra: Any) -> list[Delivery]:
    return services.queue_nudge(
        recipient=cast["patient_alex"],
        organization=enrollment.organization,
        template=extra.pop("template", "exercise_today"),
        context=extra.pop("context", {}),
        key=key,
        enrollment=enrollment,
        not_before=at,
        **extra,
    )


def by_channel(rows: list[Delivery]) -> dict[str, Delivery]:
    return {row.channel: row for row in rows}


# One row per channel, once -------------------------------------------------------------


def test_a_nudge_is_one_queued_delivery_per_chosen_channel(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    rows = by_channel(queue(cast, enrollment, "exercise:alex:2026-03-03", TUESDAY))
    assert set(rows) == {"email", "in_app"}
    for channel, row in rows.items():
        assert row.key == f"exercise:alex:2026-03-03:{channel}"
        assert row.status == DeliveryStatus.QUEUED
        assert row.not_before == TUESDAY
        assert row.next_attempt_at == TUESDAY
        assert row.enrollment_id == enrollment.pk


def test_queueing_the_same_key_again_returns_the_same_rows(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    first = queue(cast, enrollment, "k1", TUESDAY)
    again = queue(cast, enrollment, "k1", TUESDAY + timedelta(hours=1), channels=["email"])
    assert {r.pk for r in again} == {r.pk for r in first}
    assert Delivery.objects.count() == 2


def test_a_patient_who_chose_no_channel_is_reached_in_trellis_only(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, channels=[])
    rows = queue(cast, enrollment, "k", TUESDAY)
    assert [(r.channel, r.status) for r in rows] == [("in_app", DeliveryStatus.QUEUED)]


def test_an_unknown_channel_is_refused_and_nothing_is_written(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    with pytest.raises(ValueError, match="carrier_pigeon"):
        queue(cast, enrollment, "k", TUESDAY, channels=["email", "carrier_pigeon"])
    assert not Delivery.objects.exists()


# Channels: opt-outs, addresses, blocks --------------------------------------------------


def test_a_channel_the_patient_did_not_choose_is_suppressed_with_its_reason(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, channels=["in_app"])
    rows = by_channel(queue(cast, enrollment, "k", TUESDAY, channels=["email", "in_app"]))
    assert rows["email"].status == DeliveryStatus.SUPPRESSED
    assert rows["email"].reason == "channel_opted_out"
    assert rows["in_app"].status == DeliveryStatus.QUEUED


def test_a_text_to_a_patient_with_no_phone_number_is_suppressed(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, channels=["sms", "in_app"])
    rows = by_channel(queue(cast, enrollment, "k", TUESDAY))
    assert (rows["sms"].status, rows["sms"].reason) == (DeliveryStatus.SUPPRESSED, "no_address")


def test_a_blocked_channel_is_suppressed_and_the_others_still_go(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    services.block(cast["patient_alex"], channel="email", reason=BlockReason.UNSUBSCRIBED)
    rows = by_channel(queue(cast, enrollment, "k", TUESDAY))
    assert rows["email"].reason == "blocked_unsubscribed"
    assert rows["in_app"].status == DeliveryStatus.QUEUED


def test_stop_suppresses_every_channel_even_an_appointment_text(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    services.block(cast["patient_alex"], reason=BlockReason.STOP)
    rows = queue(
        cast,
        enrollment,
        "appointment:24h",
        TUESDAY,
        template="exercise_today",
        transactional=True,
        appointment_id=enrollment.pk,
    )
    assert {(r.status, r.reason) for r in rows} == {(DeliveryStatus.SUPPRESSED, "blocked_stop")}


def test_block_suppresses_what_is_queued_on_that_channel_and_is_audited(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    rows = by_channel(queue(cast, enrollment, "k", TUESDAY))
    block = services.block(
        cast["patient_alex"], channel="email", reason=BlockReason.UNSUBSCRIBED, at=TUESDAY
    )
    rows["email"].refresh_from_db()
    rows["in_app"].refresh_from_db()
    assert (rows["email"].status, rows["email"].reason) == ("suppressed", "blocked_unsubscribed")
    assert rows["in_app"].status == DeliveryStatus.QUEUED
    event = AuditEvent.objects.get(action="nudges.block")
    assert event.object_id == str(block.pk)
    assert event.details["channel"] == "email"
    # A second block on the same channel is the one in force.
    again = services.block(cast["patient_alex"], channel="email", reason=BlockReason.STOP)
    assert again.pk == block.pk


def test_lifting_a_block_reaches_the_person_again_and_is_audited(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    services.block(cast["patient_alex"], reason=BlockReason.STOP, at=TUESDAY)
    assert services.lift(cast["patient_alex"], at=TUESDAY) == 1
    assert not ContactBlock.objects.filter(lifted_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="nudges.unblock").count() == 1
    rows = queue(cast, enrollment, "k", TUESDAY)
    assert {r.status for r in rows} == {DeliveryStatus.QUEUED}


def test_lifting_stop_leaves_a_broken_address_blocked(cast: Any) -> None:
    alex_with(cast, now=TUESDAY)
    alex = cast["patient_alex"]
    services.block(alex, reason=BlockReason.STOP)
    services.block(alex, channel="email", reason=BlockReason.PERMANENT_FAILURE)
    services.lift(alex)
    assert [b.channel for b in services.active_blocks(alex)] == ["email"]


def test_a_block_with_an_unknown_reason_is_refused(cast: Any) -> None:
    with pytest.raises(ValueError):
        services.block(cast["patient_alex"], reason="bored")
    assert not ContactBlock.objects.exists()


# Enrollment and consent -----------------------------------------------------------------


def test_nothing_goes_after_discharge(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    end_enrollment(
        enrollment,
        status=EnrollmentStatus.DISCHARGED,
        reason="Finished",
        actor=cast["therapist_maria"],
        now=TUESDAY,
    )
    enrollment.refresh_from_db()
    rows = queue(cast, enrollment, "k", TUESDAY)
    assert {(r.status, r.reason) for r in rows} == {("suppressed", "enrollment_discharged")}
    availability = services.availability(
        recipient=cast["patient_alex"], enrollment=enrollment, at=TUESDAY
    )
    assert (availability.available, availability.reason) == (False, "enrollment_discharged")


def test_nothing_goes_after_consent_to_automated_features_is_withdrawn(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    alex = cast["patient_alex"]
    [automation] = [d for d in current_documents(enrollment.organization) if d.kind == "automation"]
    consent = give_consent(automation, actor=alex, now=TUESDAY)
    assert {r.status for r in queue(cast, enrollment, "before", TUESDAY)} == {"queued"}
    withdraw_consent(consent, actor=alex, now=TUESDAY + timedelta(days=1))
    rows = queue(cast, enrollment, "after", TUESDAY + timedelta(days=1))
    assert {(r.status, r.reason) for r in rows} == {("suppressed", "consent_withdrawn")}
    assert ConsentKind.AUTOMATION in services.CONSENTS_FOR_NUDGES


# Hours ------------------------------------------------------------------------------------


def test_a_nudge_due_in_quiet_hours_waits_until_they_end(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, quiet=(time(22), time(9, 30)))
    late = datetime(2026, 3, 3, 23, 15, tzinfo=NEW_YORK)
    rows = queue(cast, enrollment, "k", late)
    expected = datetime(2026, 3, 4, 9, 30, tzinfo=NEW_YORK)
    assert {(r.status, r.not_before, r.next_attempt_at) for r in rows} == {
        ("queued", expected, expected)
    }


def test_a_nudge_that_would_wait_past_its_expiry_is_suppressed(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, quiet=(time(22), time(9, 30)))
    late = datetime(2026, 3, 3, 23, 15, tzinfo=NEW_YORK)
    rows = queue(cast, enrollment, "k", late, expires_at=late + timedelta(hours=2))
    assert {(r.status, r.reason) for r in rows} == {("suppressed", "quiet_hours")}


def test_outside_the_clinics_allowed_hours_a_nudge_waits_for_them(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    OutreachSettings.objects.create(
        organization=enrollment.organization, allowed_from=time(10), allowed_until=time(18)
    )
    early = datetime(2026, 3, 3, 8, 0, tzinfo=NEW_YORK)
    rows = queue(cast, enrollment, "k", early)
    assert {r.not_before for r in rows} == {datetime(2026, 3, 3, 10, 0, tzinfo=NEW_YORK)}


def test_hours_follow_the_patients_own_zone_over_the_clinics(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, zone="Europe/Helsinki")
    # 10:00 in New York is 17:00 in Helsinki: allowed; 15:00 New York is 22:00 Helsinki.
    assert services.availability(
        recipient=cast["patient_alex"], enrollment=enrollment, at=TUESDAY
    ).available
    evening = services.availability(
        recipient=cast["patient_alex"], enrollment=enrollment, at=TUESDAY + timedelta(hours=5)
    )
    assert (evening.available, evening.reason) == (False, "outside_allowed_hours")


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/New_York", (2026, 3, 8)),
        ("America/New_York", (2026, 11, 1)),
        ("Europe/Helsinki", (2026, 3, 29)),
        ("Europe/Helsinki", (2026, 10, 25)),
    ],
)
def test_quiet_hours_end_at_the_local_time_on_a_daylight_saving_day(
    cast: Any, zone: str, day: tuple[int, int, int]
) -> None:
    enrollment = alex_with(cast, now=TUESDAY, zone=zone, quiet=(time(22), time(9)))
    tz = ZoneInfo(zone)
    night = datetime(*day, 0, 30, tzinfo=tz)
    rows = queue(cast, enrollment, f"dst:{zone}", night)
    [moment] = {r.not_before for r in rows}
    assert moment.astimezone(tz).replace(tzinfo=None) == datetime(*day, 9, 0)


# Caps -------------------------------------------------------------------------------------


def test_the_second_nudge_of_a_local_day_is_suppressed_by_the_daily_cap(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    assert {r.status for r in queue(cast, enrollment, "first", TUESDAY)} == {"queued"}
    second = queue(cast, enrollment, "second", TUESDAY + timedelta(hours=2))
    assert {(r.status, r.reason) for r in second} == {("suppressed", "daily_cap")}
    tomorrow = queue(cast, enrollment, "third", TUESDAY + timedelta(days=1))
    assert {r.status for r in tomorrow} == {"queued"}


def test_a_nudge_by_two_channels_counts_once_toward_the_caps(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    OutreachSettings.objects.create(organization=enrollment.organization, daily_cap=2)
    queue(cast, enrollment, "first", TUESDAY)  # e-mail and in-app: one nudge
    assert {r.status for r in queue(cast, enrollment, "second", TUESDAY)} == {"queued"}
    third = queue(cast, enrollment, "third", TUESDAY)
    assert {r.reason for r in third} == {"daily_cap"}


def test_suppressed_nudges_do_not_count_toward_the_caps(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    queue(cast, enrollment, "first", TUESDAY)
    queue(cast, enrollment, "second", TUESDAY)  # suppressed by the daily cap
    assert (
        services.cap_reason(
            cast["patient_alex"], enrollment.organization, NEW_YORK, TUESDAY + timedelta(days=1)
        )
        == ""
    )


def test_the_fifth_nudge_of_a_local_week_is_suppressed_by_the_weekly_cap(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    monday = datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)
    for day in range(4):
        rows = queue(cast, enrollment, f"day{day}", monday + timedelta(days=day))
        assert {r.status for r in rows} == {"queued"}
    friday = queue(cast, enrollment, "day4", monday + timedelta(days=4))
    assert {r.reason for r in friday} == {"weekly_cap"}
    next_monday = queue(cast, enrollment, "day7", monday + timedelta(days=7))
    assert {r.status for r in next_monday} == {"queued"}


def test_the_daily_cap_counts_the_patients_local_day_not_utcs(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, zone="Europe/Helsinki")
    OutreachSettings.objects.create(
        organization=enrollment.organization, allowed_from=time(0), allowed_until=time(23, 59)
    )
    # 23:30 and 00:30 in Helsinki on the night the clocks go back: the same UTC day
    # (2026-10-24), two local days.
    late = datetime(2026, 10, 24, 23, 30, tzinfo=HELSINKI)
    after_midnight = datetime(2026, 10, 25, 0, 30, tzinfo=HELSINKI)
    assert late.astimezone(UTC).date() == after_midnight.astimezone(UTC).date()
    assert {r.status for r in queue(cast, enrollment, "late", late)} == {"queued"}
    assert {r.status for r in queue(cast, enrollment, "early", after_midnight)} == {"queued"}
    same_day = queue(cast, enrollment, "evening", datetime(2026, 10, 25, 22, 0, tzinfo=HELSINKI))
    assert {r.reason for r in same_day} == {"daily_cap"}


def test_appointment_texts_are_not_capped(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    queue(cast, enrollment, "first", TUESDAY)
    rows = queue(
        cast, enrollment, "appointment", TUESDAY, transactional=True, appointment_id=enrollment.pk
    )
    assert {r.status for r in rows} == {"queued"}
    # ... and they do not use up the patient's cap either.
    assert (
        services.cap_reason(
            cast["patient_alex"], enrollment.organization, NEW_YORK, TUESDAY + timedelta(days=1)
        )
        == ""
    )


# Availability -----------------------------------------------------------------------------


def test_availability_names_the_channels_and_the_first_reason_not(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, quiet=(time(20), time(9)))
    alex = cast["patient_alex"]
    now = services.availability(recipient=alex, enrollment=enrollment, at=TUESDAY)
    assert (now.available, now.reason, sorted(now.channels)) == (True, "", ["email", "in_app"])
    night = services.availability(
        recipient=alex, enrollment=enrollment, at=TUESDAY + timedelta(hours=12)
    )
    assert (night.available, night.reason) == (False, "quiet_hours")
    queue(cast, enrollment, "k", TUESDAY)
    capped = services.availability(recipient=alex, enrollment=enrollment, at=TUESDAY)
    assert (capped.available, capped.reason) == (False, "daily_cap")
    transactional = services.availability(
        recipient=alex, enrollment=enrollment, at=TUESDAY, transactional=True
    )
    assert transactional.available
    services.block(alex, reason=BlockReason.STOP)
    stopped = services.availability(recipient=alex, enrollment=enrollment, at=TUESDAY)
    assert (stopped.available, stopped.reason, stopped.channels) == (False, "blocked_stop", [])


def test_availability_with_every_chosen_channel_blocked_is_no_channel(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, channels=["email"])
    services.block(cast["patient_alex"], channel="email", reason=BlockReason.UNSUBSCRIBED)
    found = services.availability(recipient=cast["patient_alex"], enrollment=enrollment, at=TUESDAY)
    assert (found.available, found.reason) == (False, "no_channel")


# Provider reports and opening -------------------------------------------------------------


def _sent_text(cast: Any, enrollment: Any) -> Delivery:
    alex = cast["patient_alex"]
    alex.phone = "+15555550100"
    alex.save(update_fields=["phone"])
    [row] = queue(cast, enrollment, "text", TUESDAY, channels=["sms"], transactional=True)
    row.status = DeliveryStatus.SENT
    row.provider_id = "SM123"
    row.attempts = 1
    row.sent_at = TUESDAY
    row.save()
    return row


def test_a_delivery_report_marks_the_text_delivered_and_never_goes_back(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, channels=["sms", "in_app"])
    _sent_text(cast, enrollment)
    later = TUESDAY + timedelta(minutes=1)
    row = services.record_provider_status(
        channel="sms", provider_id="SM123", status="delivered", at=later
    )
    assert row is not None and (row.status, row.delivered_at) == ("delivered", later)
    again = services.record_provider_status(
        channel="sms", provider_id="SM123", status="sent", at=later
    )
    assert again is not None and again.status == "delivered"


def test_a_report_for_an_unknown_message_changes_nothing(cast: Any) -> None:
    assert (
        services.record_provider_status(
            channel="sms", provider_id="nope", status="delivered", at=TUESDAY
        )
        is None
    )
    with pytest.raises(ValueError):
        services.record_provider_status(channel="sms", provider_id="x", status="lost", at=TUESDAY)


def test_a_temporary_failure_report_tries_the_text_again_later(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY, channels=["sms", "in_app"])
    _sent_text(cast, enrollment)
    row = services.record_provider_status(
        channel="sms", provider_id="SM123", status="temporary", reason="30003", at=TUESDAY
    )
    assert row is not None and row.status == "queued"
    assert row.next_attempt_at is not None and row.next_attempt_at > TUESDAY


def test_a_permanent_failure_report_blocks_the_channel_and_tells_the_supporter(
    cast: Any,
) -> None:
    enrollment = alex_with(cast, now=TUESDAY, channels=["sms", "in_app"])
    _sent_text(cast, enrollment)
    row = services.record_provider_status(
        channel="sms", provider_id="SM123", status="permanent", reason="21211", at=TUESDAY
    )
    assert row is not None and (row.status, row.failed_at) == ("failed", TUESDAY)
    block = ContactBlock.objects.get(user=cast["patient_alex"], lifted_at__isnull=True)
    assert (block.channel, block.reason) == ("sms", BlockReason.PERMANENT_FAILURE)
    told = Notification.objects.get(user=cast["therapist_maria"])
    assert "Alex" in told.body
    assert told.link == f"/n/{told.delivery_id}/"
    assert AuditEvent.objects.filter(action="nudges.contact_failed").count() == 1


def test_opening_a_nudge_is_recorded_once_with_its_engagement_event(cast: Any) -> None:
    enrollment = alex_with(cast, now=TUESDAY)
    rows = by_channel(queue(cast, enrollment, "k", TUESDAY))
    opened_at = TUESDAY + timedelta(hours=1)
    services.mark_opened(rows["email"], at=opened_at)
    services.mark_opened(rows["email"], at=opened_at + timedelta(hours=1))
    rows["email"].refresh_from_db()
    assert rows["email"].opened_at == opened_at
    events = EngagementEvent.objects.filter(enrollment=enrollment, type="reminder_opened")
    assert [(e.occurred_at, e.value) for e in events] == [(opened_at, "email")]


# Two rules at the same moment (PostgreSQL: real row locks) --------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_nudges_queued_at_once_take_the_last_place_under_the_cap_once(cast: Any) -> None:
    need_postgres()
    enrollment = alex_with(cast, now=TUESDAY)
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def rule(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            queue(cast, enrollment, f"rule{n}", TUESDAY)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=rule, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    statuses = sorted(Delivery.objects.filter(channel="email").values_list("status", "reason"))
    assert statuses == [("queued", "")] + [("suppressed", "daily_cap")] * (workers - 1)
