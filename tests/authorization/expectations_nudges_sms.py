"""Who may use the text-message routes (checked by tests/test_authorization_matrix.py).

Decisions:
- The SMS provider's callbacks (delivery status, inbound texts) are for the provider only,
  which proves itself by its signature, not by a session or a token: every caller here
  sends none, so every caller gets 403 and nothing changes (the signed calls are tested in
  trellis/nudges/tests/test_sms.py and test_replies.py).
- The answer page of a session reminder needs no sign-in: the signed token in the
  reminder's link is the proof, like an unsubscribe link. It shows only the day and time
  of the session (no name, no supporter, no kind of care) to whoever holds the link, so it
  is declared as showing no patient data; confirming or cancelling there is audited as the
  patient's own action.
"""

from __future__ import annotations

from typing import Any

from tests.authorization.matrix import ALLOWED, FORBIDDEN, NO_PATIENT_DATA, Route, expect
from trellis.appointments.tests.helpers import alex_booked_session
from trellis.nudges.appointment_reminders import answer_token


def _answer_token(cast: Any) -> dict[str, Any]:
    return {"token": answer_token(alex_booked_session(cast))}


ROUTES: list[Route] = [
    Route(
        "nudges_sms:status",
        expect(FORBIDDEN),
        method="POST",
        note="no provider signature: 403 for everyone",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "nudges_sms:inbound",
        expect(FORBIDDEN),
        method="POST",
        note="no provider signature: 403 for everyone",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "nudges_sms:answer",
        expect(ALLOWED),
        kwargs=_answer_token,
        note="the signed link is the proof; GET asks before anything is done",
        reads=NO_PATIENT_DATA,
    ),
]
