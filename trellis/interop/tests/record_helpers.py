"""A patient with something in every part of the record: patient_alex enrolled with
therapist_maria, who answered a PHQ-9, checked in his mood, wrote in his journal and sent
a message, all through the services."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.journey import services as journey
from trellis.journey.tests.factories import enroll_alex
from trellis.measures import services as measures
from trellis.measures.models import QuestionnaireResponse
from trellis.messaging import services as messaging
from trellis.programs.instruments import get_instrument

JOURNAL = "Walked to the river and the worry felt smaller."
MOOD_NOTE = "Slept badly, better after lunch."
MESSAGE = "Could we talk about the breathing exercise?"


def alex_with_a_record(cast: Any, *, now: datetime | None = None) -> Enrollment:
    now = now or timeutil.now()
    enrollment = enroll_alex(cast, now=now - timedelta(days=10))
    alex = cast["patient_alex"]
    phq9 = get_instrument("PHQ-9")
    values = {item.id: 2 for item in phq9.items if item.scored}
    values.update({item.id: 1 for item in phq9.items if not item.scored})
    values[phq9.items[8].id] = 0
    measures.submit_response(
        enrollment,
        "PHQ-9",
        actor=alex,
        answers=values,
        client_id=uuid.uuid4(),
        now=now - timedelta(days=9),
        allow_missing=True,
    )
    journey.check_in_mood(
        enrollment,
        actor=alex,
        score=6,
        note=MOOD_NOTE,
        client_id=uuid.uuid4(),
        now=now - timedelta(days=5),
    )
    journey.add_journal_entry(
        enrollment,
        actor=alex,
        body=JOURNAL,
        shared=False,
        client_id=uuid.uuid4(),
        now=now - timedelta(days=4),
    )
    messaging.send_message(
        enrollment, sender=alex, body=MESSAGE, client_id=uuid.uuid4(), now=now - timedelta(days=3)
    )
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).exists()
    return enrollment
