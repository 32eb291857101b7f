"""Free text is encrypted at rest, and the audit trail never holds what anyone typed.

The rule the walk below checks, for every model of every Trellis app:

- every TextField and every CharField (slug, e-mail and URL fields included) is either the
  encrypted field (`trellis.core.fields.EncryptedTextField`) or on ALLOWED_IN_PLAIN_TEXT
  below, with a one-line reason it can stay readable in the database;
- a field with `choices` is exempt: it holds one of a fixed set of values the code defines,
  never words someone typed;
- JSON fields hold structured values (scores, ids, settings), not typed text, and are not
  walked here.

A new text field therefore fails this test until someone decides, in review, whether it can
carry health information (encrypt it) or not (add it here with its reason).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.db.models.functions import Cast

from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.alerts.services import close_alert, raise_alert, resolve_automatically
from trellis.appointments import services as appointments
from trellis.appointments.models import Appointment, AvailabilityException
from trellis.appointments.tests.helpers import alex_booked_session
from trellis.audit.models import AuditEvent
from trellis.care.models import CareNote, Enrollment, SteppedCareChange
from trellis.care.services import (
    confirm_step_change,
    decline_step_change,
    end_enrollment,
    suggest_step_change,
)
from trellis.core import timeutil
from trellis.core.fields import EncryptedTextField
from trellis.core.rotation import encrypted_fields, label
from trellis.onboarding.services import confirm_support_level

ALLOWED_IN_PLAIN_TEXT: dict[str, str] = {
    # core
    "core.periodicrun.job": "the name of a periodic job in the code",
    "core.periodicrun.task_result_id": "a task queue id",
    # accounts: who people are and how they sign in; clinics and teams
    "accounts.organization.name": "the clinic's name, shown on every page",
    "accounts.organization.slug": "the clinic's short name, used in URLs and commands",
    "accounts.organization.time_zone": "an IANA time zone name",
    "accounts.organization.locale": "a language code",
    "accounts.organization.crisis_resources": "crisis contacts the clinic writes for all patients",
    "accounts.team.name": "a team's name, chosen by the clinic",
    "accounts.user.password": "an Argon2 hash, not the password",
    "accounts.user.email": "needed for sign-in lookup (unique)",
    "accounts.user.language": "a language code from settings.LANGUAGES",
    "accounts.user.time_zone": "an IANA time zone name",
    "accounts.user.full_name": "identity, beside the e-mail; staff find and sort people by it",
    "accounts.user.preferred_name": "identity: how Trellis greets the person",
    "accounts.invitation.email": "needed to send the invitation and match it at sign-up",
    "accounts.invitation.full_name": "identity of the person invited, as for the user",
    "accounts.invitation.token_hash": "a SHA-256 hash of the invitation link's token",
    "accounts.recoverycode.code_hash": "a hash of a one-time recovery code",
    "accounts.apitoken.name": "an admin's label for an integration, not about a patient",
    "accounts.apitoken.prefix": "the token's public first characters, to recognise it",
    "accounts.apitoken.token_hash": "a SHA-256 hash of the token",
    "accounts.passwordresetrequest.email_digest": "a hash of the address a reset was asked for",
    # audit: the trail's own columns (its details never hold typed text: tested below)
    "audit.auditevent.actor_label": "who acted: an e-mail or a job's name",
    "audit.auditevent.action": "an action code such as auth.login",
    "audit.auditevent.object_type": "a model label",
    "audit.auditevent.object_id": "a record id",
    "audit.auditevent.user_agent": "the browser's user agent string",
    "audit.auditevent.prev_hash": "a chain hash",
    "audit.auditevent.hash": "a chain hash",
    "audit.auditevent.key_id": "the id of the audit key that sealed the event",
    "audit.auditchainhead.last_hash": "a chain hash",
    "audit.auditlink.prev_mac": "a chain link's mac",
    "audit.auditlink.mac": "a chain link's mac",
    "audit.auditlink.key_id": "the id of the audit key that sealed the link",
    # programs: content authored as files, the same for every patient
    "programs.program.slug": "program content: authored, not patient text",
    "programs.program.title": "program content: authored, not patient text",
    "programs.programversion.title": "program content: authored, not patient text",
    "programs.programversion.summary": "program content: authored, not patient text",
    "programs.programversion.language": "a language code",
    "programs.programversion.checksum": "a hash of the content pack",
    "programs.chapter.key": "program content: authored, not patient text",
    "programs.chapter.title": "program content: authored, not patient text",
    "programs.chapter.intro_html": "program content: authored, not patient text",
    "programs.chapter.closing_html": "program content: authored, not patient text",
    "programs.step.key": "program content: authored, not patient text",
    "programs.step.exercise": "an exercise kind code",
    "programs.step.title": "program content: authored, not patient text",
    "programs.step.body_html": "program content: authored, not patient text",
    "programs.step.hint": "program content: authored, not patient text",
    "programs.step.prompt": "program content: authored, not patient text",
    "programs.step.instrument": "an instrument code such as PHQ-9",
    "programs.step.short_version_key": "program content: authored, not patient text",
    # care
    "care.preferences.time_zone": "an IANA time zone name",
    "care.consentdocument.locale": "a language code",
    "care.consentdocument.title": "consent text the clinic publishes, the same for everyone",
    "care.consentdocument.body": "consent text the clinic publishes, the same for everyone",
    # engagement: the event log is kept free of typed text (docs/events.md)
    "engagement.engagementevent.type": "an event type code",
    "engagement.engagementevent.step_kind": "a step or exercise kind code",
    "engagement.engagementevent.step_key": "a step's key in the program",
    "engagement.engagementevent.value": "a count, a score or a code, never typed text",
    "engagement.submission.kind": "a submission kind code",
    # alerts and measures: codes from the instrument files and rules
    "alerts.safetyevent.instrument": "an instrument code",
    "alerts.safetyevent.item": "an item code",
    "alerts.safetyevent.rule": "a safety rule code",
    "measures.questionnaireassignment.instrument": "an instrument code",
    "measures.questionnaireresponse.instrument": "an instrument code",
    "measures.questionnaireresponse.band": "a band code from the instrument file",
    # messaging: the messages themselves are encrypted
    "messaging.message.template_key": "the key of the reply template used",
    "messaging.replytemplate.key": "a template's key",
    "messaging.replytemplate.title": "a reply template the clinic writes, not about a patient",
    "messaging.replytemplate.body": "a reply template the clinic writes, not about a patient",
    # appointments: where and how a supporter meets, set by the supporter
    "appointments.weeklyslot.time_zone": "an IANA time zone name",
    "appointments.weeklyslot.mode": "a way-to-meet code (video, phone, in_person)",
    "appointments.sessionoptions.video_link": "the supporter's video room, the same for everyone",
    "appointments.sessionoptions.place": "the supporter's meeting place, the same for everyone",
    "appointments.appointment.location": "a copy of the supporter's video room or place",
    "appointments.appointment.ical_uid": "the calendar invitation's id",
    "appointments.appointment.confirmed_via": "how the patient confirmed (text or link), a code",
    "appointments.appointment.another_time_requested_via": "how the patient asked, a code",
    # nudges: reminders are built from fixed templates and carry no clinical details
    "nudges.reminderrule.program_key": "a program's key from its content pack",
    "insights.riskmodel.kind": "the kind of model, a code (trees or logistic)",
    "insights.riskmodel.model_json": "a model's parameters and card: numbers learned from many "
    "enrollments, no one's record",
    "insights.riskmodel.trees": "LightGBM's text of a model's trees: split thresholds and leaf "
    "values, no one's record",
    "insights.riskmodel.trained_on": "where an operator says the training data came from, such "
    "as a clinic's name or a simulated cohort",
    "nudges.decisionpoint.period": "the rule's period, such as a date",
    "nudges.decisionpoint.unavailable_reason": "a reason code from the code",
    "nudges.delivery.key": "an idempotency key made of ids and a period",
    "nudges.delivery.template": "a template name from the code",
    "nudges.delivery.reason": "a reason code or a provider's error code",
    # interop: connected systems, their tokens and exports; identifiers in the clinic's records
    "interop.backendclient.name": "a connected system's name, set by a clinic admin",
    "interop.backendclient.client_id": "an identifier Trellis generated for a connected system",
    "interop.backendclient.scopes": "scope codes from a fixed vocabulary",
    "interop.accesstoken.token_hash": "the SHA-256 of a token, never the token",
    "interop.accesstoken.scopes": "scope codes from a fixed vocabulary",
    "interop.usedassertion.jti": "a connected system's one-time assertion id",
    "interop.exportjob.group_id": "the id of a program exported as a FHIR Group",
    "interop.exportjob.progress": "a progress line written by the export worker",
    "interop.exportjob.request_url": "the export's request: a path and its parameters",
    "interop.exportjob.error": "an error the export worker wrote, never patient data",
    "interop.patientidentifier.system": "the URI of another system's identifiers",
    "interop.patientidentifier.value": "a record number, matched exactly by referrals "
    "(a unique constraint cannot work on ciphertext); pages show only its last four characters",
    "interop.amendmentrequest.about": "which part of the record, a code from the record's parts",
    "nudges.delivery.provider_id": "the provider's message id",
    "nudges.delivery.claimed_by": "the id of the worker holding the lease",
    "nudges.contactblock.detail": "a provider's error code or a reply word",
    "nudges.inboundtext.provider_id": "the provider's message id",
    "nudges.inboundtext.from_hash": "a keyed hash, not the number",
    "nudges.inboundtext.word": "the reply word understood (C, R, X, STOP...)",
    "nudges.inboundtext.outcome": "what Trellis did, a code",
    "nudges.phoneindex.number_hash": "a keyed hash, not the number",
    "nudges.pushsubscription.endpoint": "the browser's push address, useless without the keys",
    "nudges.pushsubscription.p256dh": "the browser's public key",
    "nudges.pushsubscription.auth": "the push encryption secret the sender must read on every send",
    "nudges.pushsubscription.user_agent": "the browser's name, to tell devices apart",
    "nudges.notification.title": "a fixed template's title; names a patient at most (to staff)",
    "nudges.notification.body": "a fixed template's line; never clinical details or typed words",
    "nudges.notification.link": "a path inside Trellis",
}


def _trellis_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_config.name.startswith("trellis.")]


def _label(model: type[models.Model], f: models.Field[Any, Any]) -> str:
    return f"{model._meta.label_lower}.{f.name}"


def _text_fields() -> dict[str, models.Field[Any, Any]]:
    """Every TextField and CharField of the Trellis apps that is not choices-backed."""
    found = {}
    for model in _trellis_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, models.TextField | models.CharField) and not f.choices:
                found[_label(model, f)] = f
    return found


def test_every_free_text_field_is_encrypted_or_allowed_in_plain_text() -> None:
    plain = {name for name, f in _text_fields().items() if not isinstance(f, EncryptedTextField)}
    unreviewed = sorted(plain - ALLOWED_IN_PLAIN_TEXT.keys())
    assert not unreviewed, (
        "These text fields are stored in plain text: use EncryptedTextField, or add them to "
        f"ALLOWED_IN_PLAIN_TEXT with the reason they can stay readable: {unreviewed}"
    )


def test_the_allow_list_names_only_plain_text_fields_that_exist() -> None:
    plain = {name for name, f in _text_fields().items() if not isinstance(f, EncryptedTextField)}
    stale = sorted(ALLOWED_IN_PLAIN_TEXT.keys() - plain)
    assert not stale, f"Remove these from ALLOWED_IN_PLAIN_TEXT (gone or encrypted): {stale}"
    assert all(reason.strip() for reason in ALLOWED_IN_PLAIN_TEXT.values())


def test_the_clinical_free_text_is_encrypted_and_every_encrypted_field_is_rotated() -> None:
    encrypted = {name for name, f in _text_fields().items() if isinstance(f, EncryptedTextField)}
    assert {
        "care.enrollment.end_reason",
        "care.enrollment.suggestion_reason",
        "care.steppedcarechange.reason",
        "care.steppedcarechange.decision_note",
        "care.steppedcarechange.patient_notice",
        "care.carenote.body",
        "alerts.alert.reason",
        "alerts.alert.close_reason",
        "alerts.alert.action_note",
        "appointments.appointment.cancel_reason",
        "appointments.availabilityexception.reason",
        "journey.journalentry.body",
        "journey.moodcheckin.note",
        "journey.stepprogress.response",
        "messaging.message.body",
        "accounts.user.phone",
    } <= encrypted
    # `trellis keys rotate` re-encrypts every one of them.
    assert encrypted <= {label(f) for f in encrypted_fields()}


# The audit trail and the database never hold typed text in plain ------------------------

MARK = "QX7TYPED"  # in every text typed below; searched for in every column afterwards


def _columns_holding(text: str) -> list[str]:
    """Every text or JSON column of the Trellis apps whose stored value (as the database
    holds it, not decrypted) contains `text`."""
    found = []
    for model in _trellis_models():
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.TextField | models.CharField | models.JSONField):
                continue
            raw = Cast(f.attname, output_field=models.TextField())
            if model._base_manager.annotate(_raw=raw).filter(_raw__contains=text).exists():
                found.append(_label(model, f))
    return found


@pytest.mark.django_db
def test_typed_reasons_and_notes_are_encrypted_and_kept_out_of_the_audit_trail(
    cast: Any,
) -> None:
    maria, ruth = cast["therapist_maria"], cast["supervisor_ruth"]
    session = alex_booked_session(cast)
    enrollment = session.enrollment
    now = timeutil.now()
    typed = {
        "suggest": f"{MARK} sleeping badly since the bereavement",
        "confirm": f"{MARK} agreed after talking it through",
        "decline": f"{MARK} too soon after the hospital stay",
        "dismiss": f"{MARK} told us they were in hospital",
        "cancel": f"{MARK} too anxious to talk this week",
        "level": f"{MARK} prefers a therapist after the panic attacks",
        "end": f"{MARK} moved to inpatient care",
    }

    change = suggest_step_change(
        enrollment, to_level="coached", reason=typed["suggest"], actor=maria, now=now
    )
    confirm_step_change(change, actor=maria, now=now, note=typed["confirm"])
    second = suggest_step_change(
        enrollment, to_level="self_guided", reason=typed["suggest"], actor=maria, now=now
    )
    decline_step_change(second, actor=ruth, now=now, note=typed["decline"])
    alert = raise_alert(
        enrollment,
        kind=AlertKind.INACTIVITY,
        severity="medium",
        reason="No activity for 6 days",
        data={"days": 6},
        assigned_to=maria,
        now=now,
    )
    assert alert is not None
    close_alert(alert, actor=maria, state=AlertState.DISMISSED, reason=typed["dismiss"], now=now)
    appointments.cancel(session, actor=maria, reason=typed["cancel"], now=now)
    confirm_support_level(
        enrollment, actor=maria, level="therapist_assisted", now=now, note=typed["level"]
    )
    end_enrollment(enrollment, status="discharged", reason=typed["end"], actor=maria, now=now)

    # The trail says that something was written, and by whom, never what.
    trail = AuditEvent.objects.filter(patient_id=enrollment.patient_id)
    for event in trail:
        assert MARK not in json.dumps(event.details), (event.action, event.details)
    rows = {e.action: e for e in trail}
    assert rows["stepped_care.suggest"].details["reason_chars"] == len(typed["suggest"])
    assert rows["stepped_care.confirm"].details["note_chars"] == len(typed["confirm"])
    assert rows["stepped_care.confirm"].actor_id == maria.pk
    assert rows["stepped_care.decline"].details["note_chars"] == len(typed["decline"])
    assert rows["alert.dismissed"].details["reason_chars"] == len(typed["dismiss"])
    assert rows["sessions.cancelled"].details["by"] == "supporter"
    assert rows["enrollment.support_level_confirm"].details["note_chars"] == len(typed["level"])
    assert rows["enrollment.end"].details["reason_chars"] == len(typed["end"])

    # Trellis still reads every text back.
    assert SteppedCareChange.objects.get(pk=change.pk).reason == typed["suggest"]
    assert SteppedCareChange.objects.get(pk=change.pk).decision_note == typed["confirm"]
    assert SteppedCareChange.objects.get(pk=second.pk).decision_note == typed["decline"]
    assert Alert.objects.get(pk=alert.pk).close_reason == typed["dismiss"]
    assert Appointment.objects.get(pk=session.pk).cancel_reason == typed["cancel"]
    assert CareNote.objects.get(enrollment=enrollment).body == typed["level"]
    assert Enrollment.objects.get(pk=enrollment.pk).end_reason == typed["end"]

    # Nowhere in the database, in any column of any table, is the typed text readable.
    assert _columns_holding(MARK) == []


@pytest.mark.django_db
def test_the_sweep_finds_plain_text_where_it_is(cast: Any) -> None:
    """The check above can fail: text written in plain is found."""
    session = alex_booked_session(cast)
    Appointment.objects.filter(pk=session.pk).update(ical_uid=f"{MARK}-{uuid.uuid4()}")
    assert _columns_holding(MARK) == ["appointments.appointment.ical_uid"]


@pytest.mark.django_db
def test_a_rule_resolving_an_alert_keeps_its_own_words_in_the_trail_not_typed_text(
    cast: Any,
) -> None:
    """Trellis's own reason for closing an alert (a fixed sentence) may stay in the trail."""
    enrollment = alex_booked_session(cast).enrollment
    now = timeutil.now()
    alert = raise_alert(
        enrollment,
        kind=AlertKind.INACTIVITY,
        severity="medium",
        reason="No activity for 6 days",
        data={"days": 6},
        assigned_to=cast["therapist_maria"],
        now=now - timedelta(hours=1),
    )
    assert alert is not None
    assert resolve_automatically(alert, reason="The patient is active again", now=now)
    assert Alert.objects.get(pk=alert.pk).close_reason == "The patient is active again"
    assert _columns_holding("The patient is active again") == ["audit.auditevent.details"]


# The migrations that encrypt what was written before ------------------------------------

BEFORE = [
    ("care", "0006_automation_consent_v2"),
    ("alerts", "0001_initial"),
    ("appointments", "0002_booking_rules_and_session_options"),
]


def _raw(model: type[models.Model], name: str, pk: Any) -> str:
    """A column's stored value, read past the encrypted field."""
    raw = Cast(name, output_field=models.TextField())
    return str(model._base_manager.filter(pk=pk).annotate(_raw=raw).values_list("_raw").get()[0])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_migrations_encrypt_reasons_written_in_plain_text_and_can_be_undone(
    cast: Any,
) -> None:
    maria = cast["therapist_maria"]
    session = alex_booked_session(cast)
    enrollment = session.enrollment
    now = timeutil.now()
    change = suggest_step_change(
        enrollment, to_level="coached", reason="Sleeping badly", actor=maria, now=now
    )
    confirm_step_change(change, actor=maria, now=now, note="Agreed with Alex")
    alert = raise_alert(
        enrollment,
        kind=AlertKind.INACTIVITY,
        severity="medium",
        reason="No activity for 6 days",
        data={"days": 6},
        assigned_to=maria,
        now=now,
    )
    assert alert is not None
    close_alert(alert, actor=maria, state=AlertState.DISMISSED, reason="In hospital", now=now)
    appointments.cancel(session, actor=maria, reason="Too anxious to talk", now=now)
    day_off = appointments.add_exception(
        maria, actor=maria, day=(now + timedelta(days=30)).date(), reason="Surgery", now=now
    )
    end_enrollment(enrollment, status="discharged", reason="Moved away", actor=maria, now=now)
    expected = [
        (SteppedCareChange, "reason", change.pk, "Sleeping badly"),
        (SteppedCareChange, "decision_note", change.pk, "Agreed with Alex"),
        (Alert, "reason", alert.pk, "No activity for 6 days"),
        (Alert, "close_reason", alert.pk, "In hospital"),
        (Appointment, "cancel_reason", session.pk, "Too anxious to talk"),
        (AvailabilityException, "reason", day_off.pk, "Surgery"),
        (Enrollment, "end_reason", enrollment.pk, "Moved away"),
    ]
    assert SteppedCareChange.objects.get(pk=change.pk).patient_notice

    # Undone: the columns are plain text again, as before this change.
    MigrationExecutor(connection).migrate(BEFORE)
    for model, name, pk, text in expected:
        assert _raw(model, name, pk) == text

    # Applied: what was written in plain text is encrypted, and reads back the same.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    for model, name, pk, text in expected:
        assert _raw(model, name, pk).startswith("enc:v1:"), (model, name)
        assert getattr(model.objects.get(pk=pk), name) == text
    assert _raw(SteppedCareChange, "patient_notice", change.pk).startswith("enc:v1:")
