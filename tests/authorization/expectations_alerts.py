"""Who may use each alert page (checked by tests/test_authorization_matrix.py).

Decisions:
- Alert pages are for clinical staff (coaches, therapists, supervisors) and clinic
  admins (who choose on-call duty and may be handed an alert when nobody clinical is
  configured). Patients and researchers get 403 on every page, whatever the id.
- An alert is open to whoever it is assigned or escalated to and to anyone who may open
  the patient's enrollment (their supporters, their team, the clinic's supervisors).
  Admins see no clinical record, so another person's alert is a 404 for them.
- Acknowledging is for the assigned clinician, the escalation supervisor, or any
  supervisor of the clinic: a coach who can see the patient gets 403.
- Other alerts (inactivity, unanswered message, scores, missed session...) may be
  acknowledged, resolved or dismissed by anyone clinical who can open them: the patient's
  supporters, their team (so a coach too) and the clinic's supervisors. An alert of
  another caseload is a 404.
- On-call duty and the alert rules are set by the clinic's admins and supervisors;
  other staff get 403.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    NOT_FOUND,
    ONE_PATIENT,
    PATIENT_LIST,
    Route,
    expect,
)
from trellis.alerts.models import Alert
from trellis.alerts.safety import SafetyAnswer, record_safety_answer
from trellis.alerts.services import raise_alert
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex

_NOT_TOKENS = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_ALERT_STAFF = expect(
    ALLOWED,
    **_NOT_TOKENS,
    patient=FORBIDDEN,
    other_clinic_patient=FORBIDDEN,
    researcher=FORBIDDEN,
)


def alex_safety_alert(cast: Any) -> Alert:
    """A safety alert for patient_alex (therapist-assisted, with therapist_maria), raised
    through the safety pathway from a PHQ-9 item 9 answer of 1."""
    enrollment = enroll_alex(cast)
    existing = Alert.objects.filter(enrollment=enrollment, kind="safety").first()
    if existing is not None:
        return existing
    record_safety_answer(
        enrollment,
        SafetyAnswer(instrument="PHQ-9", item="q9", value=1, rule="phq9_item9", number=9),
        actor=cast["patient_alex"],
        client_id=uuid.uuid4(),
        now=timeutil.now(),
    )
    return Alert.objects.get(enrollment=enrollment, kind="safety")


def _alert(cast: Any) -> dict[str, Any]:
    return {"pk": alex_safety_alert(cast).pk}


def alex_inactivity_alert(cast: Any) -> Alert:
    """An inactivity alert for patient_alex, as the hourly rules raise it."""
    enrollment = enroll_alex(cast)
    existing = Alert.objects.filter(enrollment=enrollment, kind="inactivity").first()
    if existing is not None:
        return existing
    alert = raise_alert(
        enrollment,
        kind="inactivity",
        severity="medium",
        reason="No activity for 6 days",
        data={"days": 6},
        assigned_to=cast["therapist_maria"],
        now=timeutil.now(),
    )
    assert alert is not None, "the clinic switched the inactivity rule off"
    return alert


def _alex_alert_raised(cast: Any) -> dict[str, Any]:
    """patient_alex's inactivity alert, for the inbox to list; the URL takes no arguments."""
    alex_inactivity_alert(cast)
    return {}


def _rule_alert(cast: Any) -> dict[str, Any]:
    return {"pk": alex_inactivity_alert(cast).pk}


_HANDLE_RULE_ALERT = expect(
    ALLOWED,
    **_NOT_TOKENS,
    patient=FORBIDDEN,
    other_clinic_patient=FORBIDDEN,
    researcher=FORBIDDEN,
    admin=NOT_FOUND,
)


ROUTES: list[Route] = [
    Route(
        "alerts:inbox",
        _ALERT_STAFF,
        kwargs=_alex_alert_raised,
        note="open alerts assigned or escalated to me; patient_alex's is maria's",
        reads=PATIENT_LIST,
    ),
    Route(
        "alerts:detail",
        expect(
            ALLOWED,
            **_NOT_TOKENS,
            patient=FORBIDDEN,
            other_clinic_patient=FORBIDDEN,
            researcher=FORBIDDEN,
            admin=NOT_FOUND,
        ),
        kwargs=_alert,
        note="patient_alex's safety alert: his supporter, his team's coach and supervisors",
        reads=ONE_PATIENT,
    ),
    Route(
        "alerts:acknowledge",
        expect(
            ALLOWED,
            **_NOT_TOKENS,
            patient=FORBIDDEN,
            other_clinic_patient=FORBIDDEN,
            researcher=FORBIDDEN,
            admin=NOT_FOUND,
            coach=FORBIDDEN,
        ),
        method="POST",
        kwargs=_alert,
        data=lambda cast: {"note": "Called the patient; agreed a safety plan."},
        note="the assigned therapist or a supervisor; a coach sees it but may not acknowledge",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "alerts:resolve",
        _HANDLE_RULE_ALERT,
        method="POST",
        kwargs=_rule_alert,
        data=lambda cast: {"note": "Phoned; back on track."},
        note="patient_alex's inactivity alert: his care team (coach included) and supervisors",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "alerts:dismiss",
        _HANDLE_RULE_ALERT,
        method="POST",
        kwargs=_rule_alert,
        data=lambda cast: {"reason": "Away on holiday; told us in advance."},
        note="as resolving; the reason is required",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "alerts:rules",
        expect(FORBIDDEN, **_NOT_TOKENS, admin=ALLOWED, supervisor=ALLOWED),
        note="the clinic's alert rule settings",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "alerts:on_call",
        expect(FORBIDDEN, **_NOT_TOKENS, admin=ALLOWED, supervisor=ALLOWED),
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "alerts:on_call_team",
        expect(FORBIDDEN, **_NOT_TOKENS, admin=ALLOWED, supervisor=ALLOWED),
        method="POST",
        kwargs=lambda cast: {"pk": cast.teams[("riverside", "Mood team")].pk},
        data=lambda cast: {
            f"team-{cast.teams[('riverside', 'Mood team')].pk}-clinician": cast["therapist_sam"].pk
        },
        reads=NO_PATIENT_DATA,
    ),
]
