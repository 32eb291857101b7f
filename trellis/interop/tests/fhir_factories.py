"""A clinic's records to read over FHIR, built through the real services.

patient_alex (Riverside) is enrolled with therapist_maria three days before NOW: he answered
eHEALS, PHQ-9 and GAD-7 at the start, booked a video session for Wednesday, and exchanged
two messages with Maria; the EHR knows him by a medical record number. patient_farah is
enrolled at Hillside, the other clinic, whose records a Riverside client never sees.
`backend_token` makes a client and an access token directly (the token endpoint is the
SMART area's), so FHIR tests can call the server as an EHR does.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from trellis.accounts.models import Organization
from trellis.accounts.tokens import digest
from trellis.appointments import services as appointments
from trellis.appointments.models import Appointment
from trellis.appointments.tests.helpers import NOW, WEDNESDAY_9, alex_with_maria
from trellis.care.models import Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.interop.models import AccessToken, BackendClient, PatientIdentifier
from trellis.journey.tests.factories import publish_test_pack
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.services import submit_response
from trellis.messaging import services as messaging
from trellis.messaging.models import Message
from trellis.onboarding.services.invitations import enroll_patient

MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.7418.1"  # Riverside's EHR, medical record numbers
ALEX_MRN = "RCC-100234"
ENROLLED_AT = NOW - timedelta(days=3)
ANSWERED_AT = ENROLLED_AT + timedelta(hours=1)


@dataclass
class Records:
    riverside: Organization
    hillside: Organization
    alex: Any
    farah: Any
    enrollment: Enrollment
    farah_enrollment: Enrollment
    eheals: QuestionnaireResponse
    phq9: QuestionnaireResponse
    gad7: QuestionnaireResponse
    farah_phq9: QuestionnaireResponse
    session: Appointment
    from_alex: Message
    from_maria: Message


def _answer(enrollment: Enrollment, code: str, answers: dict[str, int], at: datetime) -> Any:
    return submit_response(
        enrollment,
        code,
        actor=enrollment.patient,
        answers=answers,
        client_id=uuid.uuid4(),
        now=at,
    ).response


def build_records(cast: Any) -> Records:
    enrollment = alex_with_maria(cast, now=NOW)
    alex, maria = cast["patient_alex"], cast["therapist_maria"]
    eheals = _answer(enrollment, "eHEALS", {f"q{n}": 4 for n in range(1, 9)}, ANSWERED_AT)
    phq9 = _answer(
        enrollment, "PHQ-9", {**{f"q{n}": 1 for n in range(1, 10)}, "difficulty": 1}, ANSWERED_AT
    )
    gad7 = _answer(enrollment, "GAD-7", {f"q{n}": 2 for n in range(1, 8)}, ANSWERED_AT)
    session = appointments.book(
        enrollment,
        supporter=maria,
        starts_at=WEDNESDAY_9,
        mode="video",
        actor=alex,
        client_id=uuid.uuid4(),
        now=NOW,
    )
    from_alex = messaging.send_message(
        enrollment,
        sender=alex,
        body="The breathing exercise helped before my shift.",
        client_id=uuid.uuid4(),
        now=NOW,
    )
    from_maria = messaging.send_message(
        enrollment,
        sender=maria,
        body="Good to hear, Alex. Keep it up this week.",
        client_id=uuid.uuid4(),
        now=NOW + timedelta(hours=2),
    )
    PatientIdentifier.objects.create(
        organization=enrollment.organization, system=MRN_SYSTEM, value=ALEX_MRN, patient=alex
    )
    farah = cast["patient_farah"]
    farah_enrollment = enroll_patient(
        patient=farah,
        program_version=publish_test_pack(),
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_otto"]],
        actor=cast["therapist_otto"],
        now=ENROLLED_AT,
    )
    farah_phq9 = _answer(farah_enrollment, "PHQ-9", {f"q{n}": 2 for n in range(1, 10)}, ANSWERED_AT)
    return Records(
        riverside=enrollment.organization,
        hillside=farah_enrollment.organization,
        alex=alex,
        farah=farah,
        enrollment=enrollment,
        farah_enrollment=farah_enrollment,
        eheals=eheals,
        phq9=phq9,
        gad7=gad7,
        farah_phq9=farah_phq9,
        session=session,
        from_alex=from_alex,
        from_maria=from_maria,
    )


def backend_token(
    organization: Organization,
    *,
    scopes: str = "system/*.read",
    name: str = "Riverside EHR",
    may_read_message_text: bool = False,
    expires_in: timedelta = timedelta(minutes=5),
) -> tuple[BackendClient, str]:
    """A registered backend client of the clinic and a fresh access token's secret."""
    client = BackendClient.objects.create(
        organization=organization,
        name=name,
        client_id=f"client-{uuid.uuid4().hex[:12]}",
        scopes=scopes,
        may_read_message_text=may_read_message_text,
    )
    secret = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        client=client,
        token_hash=digest(secret),
        scopes=scopes,
        expires_at=timeutil.now() + expires_in,
    )
    return client, secret


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, after checking it against its fhir.resources R4B model (a Bundle's
    entries are checked with it). Raises pydantic's ValidationError if it is not valid."""
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource
