"""Patients with something in every table, for the erasure, retention and research tests.

`full_record` gives patient_alex a record touching every app, through the services where a
service writes it and directly for the rows only a device or another system writes (a push
subscription, a risk score, an identifier from the EHR). Every piece of free text carries
MARKER, so a test can search every encrypted column for it after an erasure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.alerts.models import Alert, AlertState
from trellis.alerts.services import close_alert
from trellis.alerts.tests.helpers import item9_alert
from trellis.appointments.models import Appointment, Mode
from trellis.care.consent import current_documents, give_consent
from trellis.care.models import ConsentKind, Enrollment, EnrollmentStatus, SupportLevel
from trellis.care.services import end_enrollment
from trellis.care.services.notes import add_care_note
from trellis.core.testing import sign_in
from trellis.insights.models import RiskMethod, RiskScore
from trellis.interop.models import (
    AmendmentRequest,
    PatientIdentifier,
    Referral,
    ReferralOutcome,
    ReferralSource,
)
from trellis.journey import services as journey
from trellis.journey.tests.factories import publish_test_pack
from trellis.measures import services as measures
from trellis.messaging import services as messaging
from trellis.nudges.models import Delivery, Notification, PushSubscription
from trellis.nudges.phones import refresh_phone_index
from trellis.nudges.services.blocks import block
from trellis.onboarding.services import enroll_patient
from trellis.programs.instruments import get_instrument

MARKER = "zebra-quartz-7731"
PHONE = "+16175550123"
T0 = datetime(2025, 1, 6, 14, 0, tzinfo=UTC)


@dataclass
class FullRecord:
    enrollment: Enrollment
    alert: Alert
    signed_in: Client


def enroll(
    cast: Any,
    patient: str,
    *,
    level: str = SupportLevel.THERAPIST_ASSISTED,
    supporters: tuple[str, ...] = ("therapist_maria",),
    now: datetime = T0,
    actor: str = "supervisor_ruth",
    organization: Any = None,
) -> Enrollment:
    return enroll_patient(
        organization=organization,
        patient=cast[patient],
        program_version=publish_test_pack(),
        support_level=level,
        supporters=[cast[s] for s in supporters],
        actor=cast[actor],
        now=now,
    )


def discharge(enrollment: Enrollment, cast: Any, *, at: datetime, actor: str = "therapist_maria"):
    return end_enrollment(
        enrollment,
        status=EnrollmentStatus.DISCHARGED,
        reason=f"Finished well {MARKER}",
        actor=cast[actor],
        now=at,
    )


def agree_to_research(patient: Any, *, at: datetime = T0) -> None:
    document = next(d for d in current_documents(None) if d.kind == ConsentKind.RESEARCH)
    give_consent(document, actor=patient, now=at)


def full_record(
    cast: Any, *, discharged_at: datetime | None = T0 + timedelta(days=60)
) -> FullRecord:
    """patient_alex with a record in every app, discharged at `discharged_at` (None: still
    in the program), his safety alert closed by therapist_maria."""
    alex, maria = cast["patient_alex"], cast["therapist_maria"]
    alex.phone = PHONE
    alex.preferred_name = "Al"
    alex.save(update_fields=["phone", "preferred_name"])
    refresh_phone_index([alex])
    enrollment = enroll(cast, "patient_alex")
    at = T0 + timedelta(days=1)
    phq9 = get_instrument("PHQ-9")
    answers = {item.id: 1 for item in phq9.items}
    answers[phq9.items[8].id] = 0  # the safety answer comes below, through the pathway
    measures.submit_response(
        enrollment,
        "PHQ-9",
        actor=alex,
        answers=answers,
        client_id=uuid.uuid4(),
        now=at,
        allow_missing=True,
    )
    journey.check_in_mood(
        enrollment, actor=alex, score=4, note=f"mood {MARKER}", client_id=uuid.uuid4(), now=at
    )
    journey.add_journal_entry(
        enrollment,
        actor=alex,
        body=f"journal {MARKER}",
        shared=True,
        client_id=uuid.uuid4(),
        now=at,
    )
    messaging.send_message(
        enrollment, sender=alex, body=f"hello {MARKER}", client_id=uuid.uuid4(), now=at
    )
    messaging.send_message(
        enrollment,
        sender=maria,
        body=f"reply {MARKER}",
        client_id=uuid.uuid4(),
        now=at + timedelta(hours=2),
        support_minutes=5,
    )
    add_care_note(enrollment, author=maria, body=f"note {MARKER}", now=at)
    agree_to_research(alex, at=at)
    alert = item9_alert(enrollment, now=at + timedelta(hours=3))
    close_alert(
        alert,
        actor=maria,
        state=AlertState.RESOLVED,
        note=f"called him {MARKER}",
        now=at + timedelta(hours=4),
    )
    Appointment.objects.create(
        enrollment=enrollment,
        supporter=maria,
        starts_at=at + timedelta(days=2),
        ends_at=at + timedelta(days=2, minutes=30),
        mode=Mode.VIDEO,
        location=f"https://video.example/{MARKER}",
        booked_by=alex,
        client_id=uuid.uuid4(),
        ical_uid=f"{uuid.uuid4()}@trellis",
        cancel_reason=f"cancel {MARKER}",
    )
    RiskScore.objects.create(
        enrollment=enrollment,
        scored_on=at.date(),
        scored_at=at,
        as_of_day=1,
        method=RiskMethod.RULES,
        risk=0.4,
        reasons=[],
    )
    PushSubscription.objects.create(
        user=alex, endpoint=f"https://push.example/{uuid.uuid4()}", p256dh="k", auth="a"
    )
    delivery = Delivery.objects.create(
        key=f"test:{uuid.uuid4()}",
        organization=enrollment.organization,
        recipient=alex,
        enrollment=enrollment,
        channel="in_app",
        template="exercise_today",
        not_before=at,
    )
    Notification.objects.create(user=alex, delivery=delivery, title="Today's exercise")
    block(alex, channel="sms", reason="stop", at=at)
    identifier = PatientIdentifier.objects.create(
        organization=enrollment.organization, system="urn:mrn", value="MRN-55501", patient=alex
    )
    Referral.objects.create(
        organization=enrollment.organization,
        source=ReferralSource.CSV,
        identifier=identifier,
        outcome=ReferralOutcome.ALREADY_ENROLLED,
        note=f"referral {MARKER}",
    )
    AmendmentRequest.objects.create(
        patient=alex,
        organization=enrollment.organization,
        about="journal",
        requested_change=f"amend {MARKER}",
    )
    TOTPDevice.objects.create(user=alex, name="phone", confirmed=True)
    AccessAttempt.objects.create(
        username=alex.email, ip_address="203.0.113.9", user_agent="test", failures_since_start=1
    )
    signed_in = sign_in(Client(), alex)
    signed_in.get("/")
    if discharged_at is not None:
        discharge(enrollment, cast, at=discharged_at)
    enrollment.refresh_from_db()
    alert.refresh_from_db()
    return FullRecord(enrollment=enrollment, alert=alert, signed_in=signed_in)
