"""Who may use the web-push routes (checked by tests/test_authorization_matrix.py).

Decisions:
- The VAPID public key is public: it is what every browser subscribes with, and holds
  nothing private.
- Subscribing and unsubscribing a device are for a signed-in patient, for their own
  devices (a device already someone else's is 409, another person's device cannot be
  removed: 404). Staff get 403; nobody signed in (and API tokens, which mean nothing to
  these session endpoints) get 401. The matrix posts a form, so a patient's answer is 400
  (the body must be JSON): past the permission layer.
- The link a push notification opens needs no sign-in: its signed token is the proof,
  and it only records the nudge opened and redirects to the page it is about, which asks
  for a sign-in as any page does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    Route,
    expect,
)
from trellis.care.models import Preferences
from trellis.core import timeutil, vapid
from trellis.journey.tests.factories import enroll_alex
from trellis.nudges import push, services, webpush
from trellis.nudges.models import PushSubscription

AT = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York, inside allowed hours

_PATIENTS_ONLY = expect(
    FORBIDDEN,
    anonymous=LOGIN,
    token_read=LOGIN,
    token_write=LOGIN,
    patient=ALLOWED,
    other_clinic_patient=ALLOWED,
)


def _push_link(cast: Any) -> dict[str, Any]:
    """A push nudge queued for patient_alex, who has one device set up."""
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast, now=AT)
    if not PushSubscription.objects.filter(user=alex).exists():
        _private, public = vapid.generate_pair()
        push.subscribe(
            alex,
            push.SubscriptionInput(
                endpoint="http://127.0.0.1:9/push/matrix", p256dh=public, auth="A" * 22
            ),
            at=timeutil.now(),
        )
    Preferences.objects.update_or_create(user=alex, defaults={"reminder_channels": ["push"]})
    [row] = services.queue_nudge(
        recipient=alex,
        organization=enrollment.organization,
        template="exercise_today",
        context={},
        key="matrix:push",
        enrollment=enrollment,
        channels=["push"],
        not_before=AT,
        transactional=True,
    )
    return {"token": webpush.opened_token(row.pk)}


ROUTES: list[Route] = [
    Route("nudges_push:key", expect(ALLOWED), reads=NO_PATIENT_DATA),
    Route("nudges_push:subscribe", _PATIENTS_ONLY, method="POST", reads=NO_PATIENT_DATA),
    Route("nudges_push:unsubscribe", _PATIENTS_ONLY, method="POST", reads=NO_PATIENT_DATA),
    Route("nudges_push:opened", expect(ALLOWED), kwargs=_push_link, reads=NO_PATIENT_DATA),
]
