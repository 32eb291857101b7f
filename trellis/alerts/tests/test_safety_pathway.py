"""The self-harm safety pathway, branch by branch: who is responsible, the alert, the email,
escalation, and acknowledging with a note of the action taken."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection

from trellis import audit
from trellis.accounts.models import Role
from trellis.accounts.services import create_person, set_membership_active
from trellis.alerts import safety
from trellis.alerts.models import Alert, AlertKind, AlertState, SafetyEvent, Severity
from trellis.alerts.queries import inbox_for, open_urgent_count
from trellis.alerts.services import set_on_call_clinician
from trellis.alerts.tests.helpers import (
    T0,
    alex_with_maria,
    blair_coached,
    casey_self_guided,
    clear_on_call,
    emery_self_guided,
    enroll_patient,
    item9_alert,
    item9_answer,
    item9_event,
)
from trellis.audit.models import AuditEvent
from trellis.core.testing import need_postgres
from trellis.demo import personas
from trellis.engagement.models import EngagementEvent

pytestmark = pytest.mark.django_db

REASON_ITEM9 = (
    "Answered 'Several days' to PHQ-9 question 9 "
    "(thoughts of being better off dead or of hurting yourself)"
)


def _actions(alert: Alert) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="alerts.alert", object_id=str(alert.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


# 1. Who is responsible ----------------------------------------------------------------


def test_responsible_clinician_is_the_assigned_therapist(cast: Any) -> None:
    assert safety.responsible_clinician(alex_with_maria(cast)) == cast["therapist_maria"]


def test_therapist_wins_over_a_coach_listed_first(cast: Any) -> None:
    enrollment = enroll_patient(
        cast, "patient_casey", "therapist_assisted", ("coach_jordan", "therapist_sam")
    )
    assert safety.responsible_clinician(enrollment) == cast["therapist_sam"]


def test_coached_patient_with_only_a_coach_goes_to_the_team_on_call(cast: Any) -> None:
    # Blair is on the Anxiety team, whose on-call clinician is therapist_maria.
    assert safety.responsible_clinician(blair_coached(cast)) == cast["therapist_maria"]


def test_self_guided_patient_goes_to_the_team_on_call(cast: Any) -> None:
    assert safety.responsible_clinician(casey_self_guided(cast)) == cast["therapist_sam"]


def test_inactive_therapist_supporter_falls_back_to_the_team_on_call(cast: Any) -> None:
    enrollment = enroll_patient(cast, "patient_casey", "therapist_assisted", ("therapist_maria",))
    set_membership_active(
        membership=cast.memberships["therapist_maria"], active=False, actor=cast["admin_avery"]
    )
    assert safety.responsible_clinician(enrollment) == cast["therapist_sam"]


def test_no_team_on_call_means_nobody_is_responsible(cast: Any) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    assert safety.responsible_clinician(casey_self_guided(cast)) is None


def test_patient_without_a_team_has_nobody_responsible(cast: Any) -> None:
    membership = cast.memberships["patient_emery"]
    membership.team = None
    membership.save(update_fields=["team"])
    assert safety.responsible_clinician(emery_self_guided(cast)) is None


def test_on_call_clinician_who_left_the_clinic_is_not_responsible(cast: Any) -> None:
    set_membership_active(
        membership=cast.memberships["therapist_sam"], active=False, actor=cast["admin_avery"]
    )
    assert safety.responsible_clinician(casey_self_guided(cast)) is None


# 2. Raising the alert ------------------------------------------------------------------


def test_item9_answer_alerts_the_assigned_therapist(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    enrollment = alex_with_maria(cast)
    with django_capture_on_commit_callbacks(execute=True):
        event = item9_event(enrollment, 1)
    alert = Alert.objects.get(safety_event=event)
    assert alert.kind == AlertKind.SAFETY
    assert alert.severity == Severity.URGENT
    assert alert.state == AlertState.OPEN
    assert alert.reason == REASON_ITEM9
    assert alert.assigned_to == cast["therapist_maria"]
    assert alert.escalate_after == T0 + timedelta(minutes=60)
    assert alert.escalated_at is None
    assert alert.data["instrument"] == "PHQ-9"
    assert alert.data["item"] == "q9"
    assert alert.data["value"] == 1
    assert alert.data["safety_event_id"] == str(event.pk)
    # Notified by email, with no patient-identifying text.
    mails = smtp.to(cast["therapist_maria"].email)
    assert len(mails) == 1
    assert "a patient of yours" in mails[0].body.lower()
    assert f"/clinic/alerts/{alert.pk}/" in mails[0].body
    assert "Alex" not in mails[0].body and "Rivera" not in mails[0].body
    assert "Several days" not in mails[0].body
    # ...and in the app: the alert is in her inbox count.
    assert open_urgent_count(cast["therapist_maria"]) == 1
    # The engagement event and the audit row.
    events = EngagementEvent.objects.filter(enrollment=enrollment, type="safety_event")
    assert [e.value for e in events] == ["1"]
    assert _actions(alert) == ["safety.alert_raised"]
    assert AuditEvent.objects.filter(
        action="measures.safety_answer", object_id=str(event.pk)
    ).exists()


def test_escalation_time_comes_from_the_clinic(cast: Any) -> None:
    clinic = cast.clinics["riverside"]
    clinic.safety_escalation_minutes = 30
    clinic.save(update_fields=["safety_escalation_minutes"])
    alert = item9_alert(alex_with_maria(cast), now=T0)
    assert alert.escalate_after == T0 + timedelta(minutes=30)


def test_reason_names_the_answer_given(cast: Any) -> None:
    alert = item9_alert(alex_with_maria(cast), 3, now=T0)
    assert alert.reason.startswith("Answered 'Nearly every day' to PHQ-9 question 9")


def test_recording_the_same_safety_answer_twice_raises_one_alert(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    enrollment = alex_with_maria(cast)
    key = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        first = safety.record_safety_answer(
            enrollment, item9_answer(), actor=enrollment.patient, client_id=key, now=T0
        )
        second = safety.record_safety_answer(
            enrollment,
            item9_answer(),
            actor=enrollment.patient,
            client_id=key,
            now=T0 + timedelta(seconds=5),
        )
    assert first.pk == second.pk
    event = first
    assert Alert.objects.filter(safety_event=event).count() == 1
    assert len(smtp.to(cast["therapist_maria"].email)) == 1
    assert EngagementEvent.objects.filter(enrollment=enrollment, type="safety_event").count() == 1


def test_coached_patient_alert_goes_to_the_team_on_call_clinician(cast: Any) -> None:
    alert = item9_alert(blair_coached(cast), now=T0)
    assert alert.assigned_to == cast["therapist_maria"]
    assert alert.escalated_at is None


def test_patient_with_no_responsible_clinician_goes_straight_to_a_supervisor(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    with django_capture_on_commit_callbacks(execute=True):
        alert = item9_alert(casey_self_guided(cast), now=T0)
    ruth = cast["supervisor_ruth"]
    assert alert.assigned_to == ruth
    assert alert.escalated_to == ruth
    assert alert.escalated_at == T0
    assert "no on-call clinician" in alert.data["escalation_reason"]
    assert _actions(alert) == ["safety.alert_raised", "safety.escalated"]
    assert len(smtp.to(ruth.email)) == 1
    # Already escalated: the minute job leaves it alone.
    assert safety.escalate_due_alerts(T0 + timedelta(hours=2)) == []


def test_team_supervisor_is_chosen_before_other_supervisors(cast: Any) -> None:
    mood_supervisor = create_person(
        organization=cast.clinics["riverside"],
        email="nia.supervisor@riverside.example",
        full_name="Nia Supervisor",
        role=Role.SUPERVISOR,
        team=cast.teams[("riverside", "Mood team")],
        actor=None,
    ).user
    clear_on_call(cast, "riverside", "Mood team")
    alert = item9_alert(casey_self_guided(cast), now=T0)
    assert alert.assigned_to == mood_supervisor
    # Anxiety team's patient: Ruth (the Anxiety team's supervisor) gets the escalation.
    anxiety_alert = item9_alert(alex_with_maria(cast), now=T0)
    (escalated,) = safety.escalate_due_alerts(T0 + timedelta(minutes=61))
    assert escalated.pk == anxiety_alert.pk
    assert escalated.escalated_to == cast["supervisor_ruth"]


def test_clinic_with_no_supervisor_hands_the_alert_to_an_admin_and_logs_an_error(
    cast: Any, caplog: Any
) -> None:
    # With Hillside's supervisor suspended and no on-call clinician, only its admin is left.

    set_membership_active(
        membership=cast.memberships["supervisor_mika"], active=False, actor=cast["admin_hana"]
    )
    clear_on_call(cast, "hillside", "Wellbeing team")
    enrollment = enroll_patient(cast, "patient_farah", "self_guided", actor_key="therapist_otto")
    with caplog.at_level(logging.ERROR, logger="trellis.alerts.safety"):
        alert = item9_alert(enrollment, now=T0)
    assert alert.assigned_to == cast["admin_hana"]
    assert alert.escalated_at == T0
    assert any("no clinician or supervisor" in r.getMessage() for r in caplog.records)


def test_crisis_resources_are_the_clinics_own_text(cast: Any) -> None:
    clinic = cast.clinics["hillside"]
    assert "988" in safety.crisis_resources_for(cast.clinics["riverside"], "en-US")
    clinic.crisis_resources = "Soita 112 hätätilanteessa."
    clinic.save(update_fields=["crisis_resources"])
    assert safety.crisis_resources_for(clinic, "fi-FI") == "Soita 112 hätätilanteessa."
    clinic.crisis_resources = "  "
    clinic.save(update_fields=["crisis_resources"])
    assert "988" in safety.crisis_resources_for(clinic, "fi-FI")


def test_the_safety_answer_its_alert_event_and_audit_rows_are_written_together_or_not_at_all(
    cast: Any, smtp: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """One transaction: when the last write (the alert's audit row) fails, none of the
    rows is left behind and no e-mail goes out."""
    enrollment = alex_with_maria(cast)
    real_record = audit.record

    def failing_record(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("action") == "safety.alert_raised":
            raise DatabaseError("the audit trail could not be written")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", failing_record)
    audit_rows = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DatabaseError):
        item9_event(enrollment)
    assert not SafetyEvent.objects.filter(enrollment=enrollment).exists()
    assert not Alert.objects.filter(enrollment=enrollment).exists()
    assert not EngagementEvent.objects.filter(enrollment=enrollment, type="safety_event").exists()
    assert AuditEvent.objects.count() == audit_rows
    assert smtp.to(cast["therapist_maria"].email) == []


# 3. Escalation -------------------------------------------------------------------------


def test_unacknowledged_alert_escalates_to_the_supervisor_after_the_limit_exactly_once(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    assert safety.escalate_due_alerts(T0 + timedelta(minutes=59)) == []
    alert.refresh_from_db()
    assert alert.escalated_at is None

    later = T0 + timedelta(minutes=61)
    with django_capture_on_commit_callbacks(execute=True):
        first = safety.escalate_due_alerts(later)
        second = safety.escalate_due_alerts(later + timedelta(minutes=1))
    assert [a.pk for a in first] == [alert.pk]
    assert second == []
    alert.refresh_from_db()
    assert alert.escalated_to == cast["supervisor_ruth"]
    assert alert.escalated_at == later
    assert alert.assigned_to == cast["therapist_maria"]  # still hers too
    assert _actions(alert).count("safety.escalated") == 1
    mails = smtp.to(cast["supervisor_ruth"].email)
    assert len(mails) == 1
    assert "Maria" not in mails[0].body and "Alex" not in mails[0].body

    assert list(inbox_for(cast["supervisor_ruth"])) == [alert]


def test_acknowledged_alert_never_escalates(cast: Any) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    safety.acknowledge(
        alert,
        actor=cast["therapist_maria"],
        note="Called Alex; no plan or intent.",
        now=T0 + timedelta(minutes=10),
    )
    assert safety.escalate_due_alerts(T0 + timedelta(hours=3)) == []
    alert.refresh_from_db()
    assert alert.escalated_at is None


def test_escalation_claim_is_conditional_so_a_second_worker_finds_nothing(cast: Any) -> None:
    """Two workers that both listed the alert as due: only the first claim escalates."""
    alert = item9_alert(alex_with_maria(cast), now=T0)
    later = T0 + timedelta(minutes=61)
    assert safety._escalate_one(alert.pk, later) is not None
    assert safety._escalate_one(alert.pk, later) is None
    assert _actions(alert).count("safety.escalated") == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_escalating_at_once_escalate_once_on_postgresql(cast: Any) -> None:

    need_postgres()
    alert = item9_alert(alex_with_maria(cast), now=T0)
    later = T0 + timedelta(minutes=61)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(len(safety.escalate_due_alerts(later)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
    assert _actions(alert).count("safety.escalated") == 1


# 4. Acknowledging ----------------------------------------------------------------------


def test_acknowledging_needs_a_note_and_stores_it_encrypted(cast: Any) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    maria = cast["therapist_maria"]
    for note in ("", "   "):
        with pytest.raises(ValidationError) as error:
            safety.acknowledge(alert, actor=maria, note=note, now=T0)
        assert "note" in error.value.message_dict
    with pytest.raises(ValidationError):
        safety.acknowledge(alert, actor=maria, note="x" * 2001, now=T0)
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN

    done = safety.acknowledge(
        alert, actor=maria, note="Phoned Alex, agreed a safety plan.", now=T0 + timedelta(minutes=5)
    )
    assert done.state == AlertState.ACKNOWLEDGED
    assert done.acknowledged_by == maria
    assert done.acknowledged_at == T0 + timedelta(minutes=5)
    assert Alert.objects.get(pk=alert.pk).action_note == "Phoned Alex, agreed a safety plan."
    stored_id = Alert._meta.pk.get_db_prep_value(alert.pk, connection)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute("SELECT action_note FROM insights_alert WHERE id = %s", [stored_id])
        row = cursor.fetchone()
    assert row is not None and "safety plan" not in row[0]
    assert _actions(alert)[-1] == "safety.acknowledged"


def test_a_second_acknowledgement_changes_nothing(cast: Any) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    safety.acknowledge(alert, actor=cast["therapist_maria"], note="Called.", now=T0)
    with pytest.raises(safety.AlertNotOpen):
        safety.acknowledge(alert, actor=cast["supervisor_ruth"], note="Also called.", now=T0)
    assert Alert.objects.get(pk=alert.pk).acknowledged_by == cast["therapist_maria"]


@pytest.mark.parametrize("who", ["therapist_maria", "supervisor_ruth"])
def test_assigned_clinician_and_supervisors_may_acknowledge(cast: Any, who: str) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    assert safety.acknowledge(alert, actor=cast[who], note="Called.", now=T0).state == (
        AlertState.ACKNOWLEDGED
    )


def test_escalation_supervisor_may_acknowledge(cast: Any) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    alert = item9_alert(casey_self_guided(cast), now=T0)
    assert alert.escalated_to == cast["supervisor_ruth"]
    safety.acknowledge(alert, actor=cast["supervisor_ruth"], note="Called Casey.", now=T0)


@pytest.mark.parametrize(
    "who", ["coach_jordan", "therapist_sam", "admin_avery", "researcher_lee", "patient_alex"]
)
def test_others_may_not_acknowledge(cast: Any, who: str) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    with pytest.raises(PermissionDenied):
        safety.acknowledge(alert, actor=cast[who], note="Called.", now=T0)
    assert Alert.objects.get(pk=alert.pk).state == AlertState.OPEN


def test_on_call_clinician_must_be_a_therapist_or_supervisor_of_the_clinic(cast: Any) -> None:
    team = cast.teams[("riverside", "Mood team")]
    for who in ("coach_jordan", "therapist_otto", "admin_avery"):
        with pytest.raises(ValidationError):
            set_on_call_clinician(team, clinician=cast[who], actor=cast["admin_avery"])
    with pytest.raises(PermissionDenied):
        set_on_call_clinician(team, clinician=cast["therapist_maria"], actor=cast["therapist_sam"])
    changed = set_on_call_clinician(
        team, clinician=cast["supervisor_ruth"], actor=cast["admin_avery"]
    )
    assert changed.on_call_clinician == cast["supervisor_ruth"]
    event = AuditEvent.objects.filter(action="team.on_call_change").latest("id")
    assert event.details["to"] == str(cast["supervisor_ruth"].pk)
    assert event.actor_id == cast["admin_avery"].pk


def test_demo_teams_have_their_on_call_clinicians(cast: Any) -> None:

    again = personas.build()  # idempotent: nothing changes the second time
    assert again.teams[("riverside", "Anxiety team")].on_call_clinician == cast["therapist_maria"]
    assert again.teams[("riverside", "Mood team")].on_call_clinician == cast["therapist_sam"]
    assert again.teams[("hillside", "Wellbeing team")].on_call_clinician == cast["therapist_otto"]
    assert AuditEvent.objects.filter(action="team.on_call_change").count() == 3
