"""Erasing a patient: everything about them removed or emptied in every app, the rows other
people's records need kept without the patient in them, the account unusable, the audit
trail verified with its tombstone; and each rule that refuses an erasure."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Model
from django.test import Client

from trellis.accounts.models import Invitation, Membership, RecoveryCode, User
from trellis.alerts.models import Alert, AlertState, SafetyEvent
from trellis.alerts.tests.helpers import item9_alert
from trellis.appointments.models import Appointment
from trellis.audit.models import AuditEvent
from trellis.care.models import (
    CareNote,
    CareTeamMember,
    Consent,
    Enrollment,
    Onboarding,
    Preferences,
)
from trellis.core.fields import encrypted_fields
from trellis.demo.personas import DEMO_PASSWORD
from trellis.engagement.models import EngagementEvent, Submission
from trellis.insights.models import RiskScore
from trellis.interop.erasure.rules import Rule
from trellis.interop.erasure.services import (
    ErasureRefused,
    erase_person,
    refuse_erasure,
    request_erasure,
)
from trellis.interop.erasure.steps import DECISIONS, PLACEHOLDER_DOMAIN
from trellis.interop.models import (
    AmendmentRequest,
    DataRightsSettings,
    Erasure,
    ErasureStatus,
    PatientIdentifier,
    Referral,
)
from trellis.interop.tests.rights_factories import MARKER, T0, discharge, enroll, full_record
from trellis.journey.models import JournalEntry, MoodCheckIn
from trellis.measures.models import QuestionnaireAssignment, QuestionnaireResponse
from trellis.messaging.models import Message, Thread
from trellis.nudges.models import (
    ContactBlock,
    Delivery,
    Notification,
    PhoneIndex,
    PushSubscription,
)

NOW = T0 + timedelta(days=400)


def _erase(cast: Any, **kwargs: Any) -> Erasure:
    defaults = {
        "organization": cast.clinics["riverside"],
        "by": cast["admin_avery"],
        "reason": "Asked by phone, identity checked.",
        "on_request": True,
        "now": NOW,
    }
    return erase_person(cast["patient_alex"], **{**defaults, **kwargs})


def test_every_table_that_points_at_a_person_or_enrollment_has_a_decision() -> None:
    user, enrollment = apps.get_model("accounts.User"), apps.get_model("care.Enrollment")
    found = {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.concrete and field.related_model in (user, enrollment)
    }
    assert found - set(DECISIONS) == set(), "decide what erasure does to these tables"
    assert set(DECISIONS) - found == set(), "these decisions name tables that no longer exist"


@pytest.mark.django_db
def test_erasure_removes_the_patients_data_from_every_app(cast: Any) -> None:
    record = full_record(cast)
    alex = cast["patient_alex"]
    enr = record.enrollment
    written: tuple[type[Model], ...] = (
        JournalEntry,
        MoodCheckIn,
        QuestionnaireResponse,
        EngagementEvent,
    )
    for model in written:
        assert model._default_manager.filter(enrollment=enr).exists(), model

    erasure = _erase(cast)

    gone: tuple[type[Model], ...] = (
        JournalEntry,
        MoodCheckIn,
        QuestionnaireResponse,
        QuestionnaireAssignment,
        EngagementEvent,
        CareNote,
        RiskScore,
        SafetyEvent,
        Onboarding,
    )
    for model in gone:
        assert not model._default_manager.filter(enrollment=enr).exists(), model
    by_person: tuple[tuple[type[Model], str], ...] = (
        (Consent, "user"),
        (Preferences, "user"),
        (Submission, "user"),
        (PushSubscription, "user"),
        (Notification, "user"),
        (ContactBlock, "user"),
        (PhoneIndex, "user"),
        (Delivery, "recipient"),
        (Membership, "user"),
        (RecoveryCode, "user"),
        (AmendmentRequest, "patient"),
        (PatientIdentifier, "patient"),
    )
    for owner, field in by_person:
        assert not owner._default_manager.filter(**{field: alex}).exists(), owner
    assert not Referral.objects.exists()
    assert not Invitation.objects.filter(accepted_user=alex).exists()
    assert erasure.status == ErasureStatus.DONE
    assert erasure.counts["journey.JournalEntry.deleted"] == 1
    assert erasure.counts["accounts.User.anonymised"] == 1


@pytest.mark.django_db
def test_rows_others_need_are_kept_without_the_patient_in_them(cast: Any) -> None:
    record = full_record(cast)
    _erase(cast)

    enrollment = Enrollment.objects.get(pk=record.enrollment.pk)
    assert enrollment.end_reason == "" and enrollment.suggestion_reason == ""
    assert CareTeamMember.objects.filter(enrollment=enrollment).exists()
    alert = Alert.objects.get(pk=record.alert.pk)
    assert alert.closed_by == cast["therapist_maria"] and alert.state == AlertState.RESOLVED
    assert (alert.reason, alert.action_note, alert.data, alert.safety_event) == ("", "", {}, None)
    messages = Message.objects.filter(thread__enrollment=enrollment)
    assert messages.count() == 2 and {m.body for m in messages} == {""}
    assert messages.get(from_patient=False).support_minutes == 5
    assert Thread.objects.filter(enrollment=enrollment).exists()
    appointment = Appointment.objects.get(enrollment=enrollment)
    assert (appointment.location, appointment.cancel_reason) == ("", "")


@pytest.mark.django_db
def test_no_encrypted_column_anywhere_still_holds_the_patients_words(cast: Any) -> None:
    full_record(cast)
    alex = User.objects.get(pk=cast["patient_alex"].pk)
    assert alex.phone

    def holding_marker() -> list[str]:
        found = []
        for field in encrypted_fields():
            model = field.model
            for value in model._default_manager.values_list(field.name, flat=True):
                if value and MARKER in str(value):
                    found.append(f"{model._meta.label}.{field.name}")
        return found

    assert len(holding_marker()) >= 8
    _erase(cast)
    assert holding_marker() == []


@pytest.mark.django_db
def test_the_erased_person_cannot_sign_in_and_their_sessions_are_gone(cast: Any) -> None:
    record = full_record(cast)
    email = cast["patient_alex"].email
    assert Session.objects.exists()
    _erase(cast)

    alex = User.objects.get(pk=cast["patient_alex"].pk)
    assert alex.email.endswith("@" + PLACEHOLDER_DOMAIN) and alex.email != email
    assert (alex.full_name, alex.preferred_name, alex.phone) == ("", "", "")
    assert not alex.is_active and not alex.has_usable_password()
    assert not alex.check_password(DEMO_PASSWORD)
    assert not Session.objects.filter(session_key__isnull=False).exists()
    response = record.signed_in.get("/me/erasure/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    login = Client().post("/accounts/login/", {"email": email, "password": DEMO_PASSWORD})
    assert "_auth_user_id" not in login.client.session


@pytest.mark.django_db
def test_the_audit_trail_keeps_a_tombstone_and_still_verifies(cast: Any) -> None:
    record = full_record(cast)
    before = AuditEvent.objects.count()
    erasure = _erase(cast)

    tombstone = AuditEvent.objects.get(action="person.erased")
    assert tombstone.object_type == "interop.erasure" and tombstone.object_id == str(erasure.pk)
    assert tombstone.patient_id == record.enrollment.patient_id
    assert tombstone.details["counts"] == erasure.counts
    assert "alex" not in str(tombstone.details).lower()
    assert AuditEvent.objects.count() == before + 1
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "verified" in out.getvalue().lower()


@pytest.mark.django_db
def test_a_refused_erasure_changes_nothing(cast: Any) -> None:
    record = full_record(cast, discharged_at=None)
    journal = JournalEntry.objects.filter(enrollment=record.enrollment).count()
    with pytest.raises(ErasureRefused) as refused:
        _erase(cast)
    assert [r.rule for r in refused.value.refusals] == [Rule.ACTIVE_ENROLLMENT]
    assert JournalEntry.objects.filter(enrollment=record.enrollment).count() == journal
    assert User.objects.get(pk=cast["patient_alex"].pk).is_active
    assert not Erasure.objects.exists()
    assert not AuditEvent.objects.filter(action="person.erased").exists()


@pytest.mark.django_db
def test_an_open_safety_alert_holds_back_erasure(cast: Any) -> None:
    enrollment = enroll(cast, "patient_alex")
    item9_alert(enrollment, now=T0 + timedelta(days=1))
    discharge(enrollment, cast, at=T0 + timedelta(days=2))
    with pytest.raises(ErasureRefused) as refused:
        _erase(cast)
    assert [r.rule for r in refused.value.refusals] == [Rule.OPEN_SAFETY_ALERT]


@pytest.mark.django_db
def test_a_clinic_that_does_not_erase_on_request_refuses(cast: Any) -> None:
    riverside = cast.clinics["riverside"]
    DataRightsSettings.objects.create(organization=riverside, erasure_on_request=False)
    discharge(enroll(cast, "patient_alex"), cast, at=T0 + timedelta(days=2))
    with pytest.raises(ErasureRefused) as refused:
        _erase(cast)
    assert [r.rule for r in refused.value.refusals] == [Rule.NOT_ALLOWED]
    with pytest.raises(ValidationError):
        request_erasure(patient=cast["patient_alex"], organization=riverside, now=NOW)
    # The retention job is not a request: it still erases.
    assert _erase(cast, on_request=False, by=None, reason="").status == ErasureStatus.DONE


@pytest.mark.django_db
def test_staff_and_patients_of_other_clinics_are_not_erased_here(cast: Any) -> None:
    with pytest.raises(ErasureRefused) as staff:
        erase_person(
            cast["therapist_maria"],
            organization=cast.clinics["riverside"],
            by=cast["admin_avery"],
            reason="asked",
            on_request=True,
            now=NOW,
        )
    assert Rule.STAFF in [r.rule for r in staff.value.refusals]
    with pytest.raises(ErasureRefused) as elsewhere:
        erase_person(
            cast["patient_farah"],
            organization=cast.clinics["riverside"],
            by=cast["admin_avery"],
            reason="asked",
            on_request=True,
            now=NOW,
        )
    assert [r.rule for r in elsewhere.value.refusals] == [Rule.NOT_PATIENT, Rule.OTHER_CLINIC]


@pytest.mark.django_db
def test_a_person_is_erased_once(cast: Any) -> None:
    discharge(enroll(cast, "patient_alex"), cast, at=T0 + timedelta(days=2))
    _erase(cast)
    with pytest.raises(ErasureRefused) as again:
        _erase(cast)
    assert [r.rule for r in again.value.refusals] == [Rule.ALREADY_ERASED]


@pytest.mark.django_db
def test_a_spoken_request_needs_a_reason(cast: Any) -> None:
    discharge(enroll(cast, "patient_alex"), cast, at=T0 + timedelta(days=2))
    with pytest.raises(ValidationError) as error:
        _erase(cast, reason="  ")
    assert "reason" in error.value.message_dict


@pytest.mark.django_db
def test_a_patients_request_is_answered_by_erasing_or_refusing(cast: Any) -> None:
    riverside, alex = cast.clinics["riverside"], cast["patient_alex"]
    discharge(enroll(cast, "patient_alex"), cast, at=T0 + timedelta(days=2))
    asked = request_erasure(patient=alex, organization=riverside, now=NOW)
    assert request_erasure(patient=alex, organization=riverside, now=NOW) == asked
    refused = refuse_erasure(asked, by=cast["admin_avery"], reason="Court order.", now=NOW)
    assert (refused.status, refused.reason) == (ErasureStatus.REFUSED, "Court order.")
    with pytest.raises(ValidationError):
        refuse_erasure(asked, by=cast["admin_avery"], reason="Again.", now=NOW)

    second = request_erasure(patient=alex, organization=riverside, now=NOW)
    assert second.pk != asked.pk
    done = _erase(cast, request=second, reason="")
    assert done.pk == second.pk and done.status == ErasureStatus.DONE
    assert done.requested_by_id == alex.pk
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"erasure.request", "erasure.refuse", "person.erased"} <= actions
