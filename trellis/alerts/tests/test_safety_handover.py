"""Handing on the open safety alerts of a clinician who can no longer take them: the next
person in the order used at raising, at once, audited and told by e-mail."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from trellis.accounts.models import Membership, Role
from trellis.accounts.services import create_person, set_membership_active
from trellis.alerts import safety
from trellis.alerts.models import Alert, AlertState
from trellis.alerts.tests.helpers import (
    T0,
    alex_with_maria,
    casey_self_guided,
    clear_on_call,
    enroll_patient,
    item9_alert,
)
from trellis.audit.models import AuditEvent
from trellis.onboarding.services import enroll_patient as enroll

pytestmark = pytest.mark.django_db

LATER = T0 + timedelta(minutes=20)
WHY = "access to the clinic suspended"


def _actions(alert: Alert) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="alerts.alert", object_id=str(alert.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def _suspend(cast: Any, key: str, admin: str = "admin_avery") -> None:
    set_membership_active(membership=cast.memberships[key], active=False, actor=cast[admin])


def _hand_on(cast: Any, key: str, clinic: str = "riverside") -> list[Alert]:
    return safety.reassign_open_safety_alerts(
        cast[key], cast.clinics[clinic], actor=cast["admin_avery"], why=WHY, now=LATER
    )


def _casey_with_maria(cast: Any) -> Any:
    # Casey is on the Mood team, whose on-call clinician is therapist_sam.
    return enroll_patient(cast, "patient_casey", "therapist_assisted", ("therapist_maria",))


def test_a_suspended_therapists_open_alert_goes_to_the_team_on_call_clinician(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alert = item9_alert(_casey_with_maria(cast), now=T0)
    assert alert.assigned_to == cast["therapist_maria"]
    _suspend(cast, "therapist_maria")
    with django_capture_on_commit_callbacks(execute=True):
        moved = _hand_on(cast, "therapist_maria")
    assert [a.pk for a in moved] == [alert.pk]
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_sam"]
    assert alert.state == AlertState.OPEN
    assert alert.escalated_at is None and alert.escalated_to is None
    assert alert.escalate_after == T0 + timedelta(minutes=60)  # the clock keeps running
    assert _actions(alert) == ["safety.alert_raised", "safety.reassigned"]
    row = AuditEvent.objects.get(action="safety.reassigned", object_id=str(alert.pk))
    assert row.actor_id == cast["admin_avery"].pk
    assert row.details["from"] == str(cast["therapist_maria"].pk)
    assert row.details["to"] == str(cast["therapist_sam"].pk)
    assert row.details["why"] == WHY
    assert row.occurred_at == LATER
    mails = smtp.to(cast["therapist_sam"].email)
    assert len(mails) == 1
    assert mails[0].subject == "Urgent: a safety alert about a patient of yours"
    assert f"/clinic/alerts/{alert.pk}/" in mails[0].body
    assert "Casey" not in mails[0].body


def test_with_no_on_call_clinician_the_alert_goes_straight_to_a_supervisor_escalated(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Alex is on the Anxiety team, whose on-call clinician is therapist_maria herself.
    alert = item9_alert(alex_with_maria(cast), now=T0)
    _suspend(cast, "therapist_maria")
    with django_capture_on_commit_callbacks(execute=True):
        _hand_on(cast, "therapist_maria")
    alert.refresh_from_db()
    ruth = cast["supervisor_ruth"]
    assert alert.assigned_to == ruth
    assert alert.escalated_to == ruth
    assert alert.escalated_at == LATER
    assert "no other therapist or on-call clinician" in alert.data["escalation_reason"]
    assert _actions(alert) == ["safety.alert_raised", "safety.reassigned", "safety.escalated"]
    row = AuditEvent.objects.get(action="safety.reassigned", object_id=str(alert.pk))
    assert row.details["to"] == str(ruth.pk)
    mails = smtp.to(ruth.email)
    assert len(mails) == 1
    assert mails[0].subject == "Urgent: a safety alert needs a supervisor"
    # Already escalated: the minute job leaves it alone.
    assert safety.escalate_due_alerts(T0 + timedelta(hours=2)) == []


def test_the_departing_person_is_skipped_even_while_still_active(cast: Any) -> None:
    # Handing on before the suspension is saved still never picks the person leaving.
    as_therapist = item9_alert(_casey_with_maria(cast), now=T0)
    as_on_call_too = item9_alert(alex_with_maria(cast), now=T0)  # the Anxiety team's on-call
    _hand_on(cast, "therapist_maria")
    as_therapist.refresh_from_db()
    as_on_call_too.refresh_from_db()
    assert as_therapist.assigned_to == cast["therapist_sam"]
    assert as_on_call_too.assigned_to == cast["supervisor_ruth"]


def test_acknowledged_and_closed_alerts_stay_as_they_are(cast: Any) -> None:
    enrollment = _casey_with_maria(cast)
    acknowledged = item9_alert(enrollment, now=T0)
    safety.acknowledge(
        acknowledged,
        actor=cast["therapist_maria"],
        note="Called Casey; safety plan agreed.",
        now=T0,
    )
    _suspend(cast, "therapist_maria")
    assert _hand_on(cast, "therapist_maria") == []
    acknowledged.refresh_from_db()
    assert acknowledged.assigned_to == cast["therapist_maria"]
    assert acknowledged.state == AlertState.ACKNOWLEDGED
    assert not AuditEvent.objects.filter(action="safety.reassigned").exists()


def test_alerts_at_another_clinic_stay_with_the_clinician(cast: Any) -> None:
    maria = cast["therapist_maria"]
    Membership.objects.create(
        user=maria, organization=cast.clinics["hillside"], role=Role.THERAPIST
    )
    farah = enroll(
        patient=cast["patient_farah"],
        program_version=alex_with_maria(cast).program_version,
        support_level="therapist_assisted",
        supporters=[maria],
        actor=cast["therapist_otto"],
        now=T0,
    )
    at_hillside = item9_alert(farah, now=T0)
    at_riverside = item9_alert(_casey_with_maria(cast), now=T0)
    assert at_hillside.assigned_to == maria == at_riverside.assigned_to
    _suspend(cast, "therapist_maria")
    _hand_on(cast, "therapist_maria", clinic="riverside")
    at_hillside.refresh_from_db()
    at_riverside.refresh_from_db()
    assert at_hillside.assigned_to == maria
    assert at_riverside.assigned_to == cast["therapist_sam"]
    assert not AuditEvent.objects.filter(
        action="safety.reassigned", object_id=str(at_hillside.pk)
    ).exists()


def test_an_alert_escalated_to_a_departing_supervisor_goes_to_another_supervisor(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alert = item9_alert(_casey_with_maria(cast), now=T0)
    (escalated,) = safety.escalate_due_alerts(T0 + timedelta(minutes=61))
    assert escalated.escalated_to == cast["supervisor_ruth"]
    nia = create_person(
        organization=cast.clinics["riverside"],
        email="nia.supervisor@riverside.example",
        full_name="Nia Supervisor",
        role=Role.SUPERVISOR,
        actor=None,
    ).user
    _suspend(cast, "supervisor_ruth")
    with django_capture_on_commit_callbacks(execute=True):
        _hand_on(cast, "supervisor_ruth")
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_maria"]  # the therapist keeps it
    assert alert.escalated_to == nia
    row = AuditEvent.objects.get(action="safety.reassigned", object_id=str(alert.pk))
    assert row.details["from"] == str(cast["supervisor_ruth"].pk)
    assert row.details["to"] == str(nia.pk)
    assert len(smtp.to(nia.email)) == 1
    assert smtp.to(cast["therapist_maria"].email) == []


def test_a_supervisor_who_took_an_alert_straight_away_hands_on_both_roles(cast: Any) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    alert = item9_alert(casey_self_guided(cast), now=T0)
    assert alert.assigned_to == alert.escalated_to == cast["supervisor_ruth"]
    nia = create_person(
        organization=cast.clinics["riverside"],
        email="nia.supervisor@riverside.example",
        full_name="Nia Supervisor",
        role=Role.SUPERVISOR,
        actor=None,
    ).user
    _suspend(cast, "supervisor_ruth")
    _hand_on(cast, "supervisor_ruth")
    alert.refresh_from_db()
    assert alert.assigned_to == alert.escalated_to == nia
    assert alert.escalated_at == T0  # escalated when raised; not escalated again


def test_with_no_supervisor_left_an_admin_takes_it_and_an_error_is_logged(
    cast: Any, caplog: Any
) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    _suspend(cast, "therapist_maria")
    _suspend(cast, "supervisor_ruth")
    with caplog.at_level(logging.ERROR, logger="trellis.alerts.safety"):
        _hand_on(cast, "therapist_maria")
    alert.refresh_from_db()
    assert alert.assigned_to == cast["admin_avery"]
    assert alert.escalated_at == LATER
    assert any("no supervisor to go to" in r.getMessage() for r in caplog.records)


def test_handing_on_twice_changes_nothing_the_second_time(cast: Any) -> None:
    alert = item9_alert(_casey_with_maria(cast), now=T0)
    _suspend(cast, "therapist_maria")
    _hand_on(cast, "therapist_maria")
    assert _hand_on(cast, "therapist_maria") == []
    assert AuditEvent.objects.filter(action="safety.reassigned").count() == 1
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_sam"]
