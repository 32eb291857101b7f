"""What erasing a patient does to each table, in the order the foreign keys allow.

Each table that points at a person (accounts.User) or at one of their enrollments is
named in `DECISIONS` with what happens to it: its rows are deleted, or kept with every
field that describes the patient emptied, because another person's record depends on
them (a supporter's workload, a clinician's action on a safety alert). A test fails when
a table that points at a person or an enrollment is missing here, so a new table cannot
be forgotten. docs/data-rights.md gives the reason for each decision.

`erase_records` runs inside the caller's transaction and returns how many rows of each
table were deleted or anonymised.
"""

from __future__ import annotations

import secrets
from collections import Counter
from enum import StrEnum
from importlib import import_module

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Model, Q, QuerySet
from django_otp import devices_for_user

from trellis.accounts.models import Invitation, Membership, RecoveryCode, User
from trellis.alerts.models import Alert, SafetyEvent
from trellis.appointments.models import Appointment
from trellis.care.models import (
    CareNote,
    Consent,
    Enrollment,
    Onboarding,
    Preferences,
    SteppedCareChange,
)
from trellis.engagement.models import EngagementEvent, Submission
from trellis.insights.models import RiskScore
from trellis.interop.models import AmendmentRequest, PatientIdentifier, Referral
from trellis.journey.models import JournalEntry, MoodCheckIn, StepProgress
from trellis.measures.models import QuestionnaireAssignment, QuestionnaireResponse
from trellis.messaging.models import Message
from trellis.nudges.models import (
    ContactBlock,
    DecisionPoint,
    Delivery,
    InboundText,
    Notification,
    PhoneIndex,
    PushSubscription,
)
from trellis.nudges.phones import number_hashes

# An address that can never receive mail (RFC 2606 reserves .invalid), unique per person.
PLACEHOLDER_DOMAIN = "erased.invalid"


class Fate(StrEnum):
    DELETED = "deleted"  # the rows are removed
    ANONYMISED = "anonymised"  # the rows stay, every field about the patient emptied
    KEPT = "kept"  # the link is to a member of staff, not to the patient: nothing to erase
    GONE_WITH = "gone with its parent"  # cascades from a row deleted above


# (table, field that points at a person or an enrollment) -> what erasing a patient does.
DECISIONS: dict[tuple[str, str], Fate] = {
    ("accounts.Membership", "user"): Fate.DELETED,
    ("accounts.Invitation", "accepted_user"): Fate.DELETED,
    ("accounts.Invitation", "invited_by"): Fate.KEPT,
    ("accounts.RecoveryCode", "user"): Fate.DELETED,
    ("accounts.Team", "on_call_clinician"): Fate.KEPT,
    ("accounts.ApiToken", "created_by"): Fate.KEPT,
    ("otp_totp.TOTPDevice", "user"): Fate.DELETED,
    ("programs.ProgramVersion", "published_by"): Fate.KEPT,
    ("care.Enrollment", "patient"): Fate.ANONYMISED,
    ("care.Enrollment", "support_level_confirmed_by"): Fate.KEPT,
    ("care.CareTeamMember", "enrollment"): Fate.KEPT,
    ("care.CareTeamMember", "supporter"): Fate.KEPT,
    ("care.Preferences", "user"): Fate.DELETED,
    ("care.Consent", "user"): Fate.DELETED,
    ("care.Onboarding", "enrollment"): Fate.DELETED,
    ("care.PatientInvitation", "enrollment"): Fate.GONE_WITH,
    ("care.CareNote", "enrollment"): Fate.DELETED,
    ("care.CareNote", "author"): Fate.KEPT,
    ("care.SteppedCareChange", "enrollment"): Fate.ANONYMISED,
    ("care.SteppedCareChange", "suggested_by"): Fate.KEPT,
    ("care.SteppedCareChange", "decided_by"): Fate.KEPT,
    ("engagement.EngagementEvent", "enrollment"): Fate.DELETED,
    ("engagement.Submission", "user"): Fate.DELETED,
    ("alerts.SafetyEvent", "enrollment"): Fate.DELETED,
    ("alerts.Alert", "enrollment"): Fate.ANONYMISED,
    ("alerts.Alert", "assigned_to"): Fate.KEPT,
    ("alerts.Alert", "escalated_to"): Fate.KEPT,
    ("alerts.Alert", "acknowledged_by"): Fate.KEPT,
    ("alerts.Alert", "closed_by"): Fate.KEPT,
    ("journey.StepProgress", "enrollment"): Fate.DELETED,
    ("journey.JournalEntry", "enrollment"): Fate.DELETED,
    ("journey.MoodCheckIn", "enrollment"): Fate.DELETED,
    ("measures.QuestionnaireAssignment", "enrollment"): Fate.DELETED,
    ("measures.QuestionnaireResponse", "enrollment"): Fate.DELETED,
    ("nudges.DecisionPoint", "enrollment"): Fate.DELETED,
    ("nudges.Delivery", "recipient"): Fate.DELETED,
    ("nudges.Delivery", "enrollment"): Fate.DELETED,
    ("nudges.PushSubscription", "user"): Fate.DELETED,
    ("nudges.Notification", "user"): Fate.DELETED,
    ("nudges.ContactBlock", "user"): Fate.DELETED,
    ("nudges.InboundText", "user"): Fate.DELETED,
    ("nudges.PhoneIndex", "user"): Fate.DELETED,
    ("insights.RiskScore", "enrollment"): Fate.DELETED,
    ("messaging.Thread", "enrollment"): Fate.ANONYMISED,
    ("messaging.Message", "sender"): Fate.ANONYMISED,
    ("appointments.WeeklySlot", "supporter"): Fate.KEPT,
    ("appointments.AvailabilityException", "supporter"): Fate.KEPT,
    ("appointments.SessionOptions", "supporter"): Fate.KEPT,
    ("appointments.Appointment", "enrollment"): Fate.ANONYMISED,
    ("appointments.Appointment", "supporter"): Fate.KEPT,
    ("appointments.Appointment", "booked_by"): Fate.ANONYMISED,
    ("interop.BackendClient", "created_by"): Fate.KEPT,
    ("interop.PatientIdentifier", "patient"): Fate.DELETED,
    ("interop.Referral", "uploaded_by"): Fate.KEPT,
    ("interop.ReferralSettings", "inviter"): Fate.KEPT,
    ("interop.AmendmentRequest", "patient"): Fate.DELETED,
    ("interop.AmendmentRequest", "decided_by"): Fate.KEPT,
    ("interop.Erasure", "requested_by"): Fate.KEPT,
    ("interop.Erasure", "decided_by"): Fate.KEPT,
}


def placeholder_email() -> str:
    """A unique address nobody can receive mail at or sign in with."""
    return f"erased-{secrets.token_hex(12)}@{PLACEHOLDER_DOMAIN}"


class _Tally:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def delete(self, queryset: QuerySet[Model]) -> None:
        _total, per_model = queryset.delete()
        for label, n in per_model.items():
            if n:
                self.counts[f"{label}.deleted"] += n

    def anonymise(self, queryset: QuerySet[Model], **blank: object) -> None:
        n = queryset.update(**blank)
        if n:
            self.counts[f"{queryset.model._meta.label}.anonymised"] += n


def _end_sessions(user: User) -> int:
    """Delete every stored session signed in as this person (the unusable password would end
    them at their next request anyway; this leaves none behind). Through the session engine,
    so a copy it keeps in the cache goes too."""
    ended = []
    for session in Session.objects.all().iterator():
        if str(session.get_decoded().get("_auth_user_id", "")) == str(user.pk):
            ended.append(session.pk)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in ended:
        store().delete(key)
    return len(ended)


def erase_records(person: User) -> dict[str, int]:
    """Remove or anonymise everything about `person` (a patient) across every app, in an
    order the PROTECT foreign keys allow. Runs in the caller's transaction."""
    tally = _Tally()
    enrollments = Enrollment.objects.filter(patient=person)
    enr = list(enrollments.values_list("pk", flat=True))
    email = person.email
    phone_hashes = number_hashes(person.phone or "")

    # What the patient did and wrote.
    tally.delete(StepProgress.objects.filter(enrollment__in=enr))
    tally.delete(JournalEntry.objects.filter(enrollment__in=enr))
    tally.delete(MoodCheckIn.objects.filter(enrollment__in=enr))
    tally.delete(EngagementEvent.objects.filter(enrollment__in=enr))
    tally.delete(Submission.objects.filter(user=person))
    # Responses before their assignments (a response PROTECTs its assignment).
    tally.delete(QuestionnaireResponse.objects.filter(enrollment__in=enr))
    tally.delete(QuestionnaireAssignment.objects.filter(enrollment__in=enr))
    tally.delete(RiskScore.objects.filter(enrollment__in=enr))

    # Alerts stay as the record of what clinicians did, emptied of the patient; the safety
    # events they pointed at (the answers) go once the alerts no longer point at them.
    tally.anonymise(
        Alert.objects.filter(enrollment__in=enr),
        reason="",
        data={},
        action_note="",
        close_reason="",
        safety_event=None,
    )
    tally.delete(SafetyEvent.objects.filter(enrollment__in=enr))

    # Messages and sessions stay as the care team's workload, with no words in them.
    tally.anonymise(Message.objects.filter(thread__enrollment__in=enr), body="")
    tally.anonymise(
        Appointment.objects.filter(enrollment__in=enr),
        location="",
        cancel_reason="",
        confirmed_via="",
        another_time_requested_via="",
    )

    # Care: notes, consent, getting started and preferences go; a decision on the level of
    # support stays as the clinician's, without its words.
    tally.delete(CareNote.objects.filter(enrollment__in=enr))
    tally.anonymise(
        SteppedCareChange.objects.filter(enrollment__in=enr),
        reason="",
        decision_note="",
        patient_notice="",
    )
    tally.delete(Onboarding.objects.filter(enrollment__in=enr))
    tally.delete(Consent.objects.filter(user=person))
    tally.delete(Preferences.objects.filter(user=person))

    # Reaching out: in-app notifications before the deliveries they came from.
    tally.delete(Notification.objects.filter(user=person))
    tally.delete(Delivery.objects.filter(Q(recipient=person) | Q(enrollment__in=enr)))
    tally.delete(DecisionPoint.objects.filter(enrollment__in=enr))
    tally.delete(PushSubscription.objects.filter(user=person))
    tally.delete(ContactBlock.objects.filter(user=person))
    inbound = Q(user=person)
    if phone_hashes:
        inbound |= Q(from_hash__in=phone_hashes)
    tally.delete(InboundText.objects.filter(inbound))
    tally.delete(PhoneIndex.objects.filter(user=person))

    # Interop: identifiers in the clinic's other systems, referrals and amendments.
    invitations = Invitation.objects.filter(Q(email__iexact=email) | Q(accepted_user=person))
    identifiers = PatientIdentifier.objects.filter(patient=person)
    tally.delete(
        Referral.objects.filter(Q(identifier__in=identifiers) | Q(invitation__in=invitations))
    )
    tally.delete(identifiers)
    tally.delete(AmendmentRequest.objects.filter(patient=person))

    # The enrollments stay as the skeleton the kept rows hang on.
    tally.anonymise(enrollments, end_reason="", suggestion_reason="", suggested_support_level="")

    # The account: invitations (and the plans made with them), roles, second factors,
    # sign-in records and sessions; the person row becomes an empty shell.
    tally.delete(invitations)
    tally.delete(Membership.objects.filter(user=person))
    tally.delete(RecoveryCode.objects.filter(user=person))
    for device in devices_for_user(person, confirmed=None):
        device.delete()
        tally.counts[f"{device._meta.label}.deleted"] += 1
    for log in (AccessAttempt, AccessLog, AccessFailureLog):
        tally.delete(log.objects.filter(username__iexact=email))
    ended = _end_sessions(person)
    if ended:
        tally.counts["sessions.Session.deleted"] += ended

    person.email = placeholder_email()
    person.full_name = ""
    person.preferred_name = ""
    person.phone = ""
    person.is_active = False
    person.mfa_opt_in = False
    person.language = ""
    person.time_zone = ""
    person.set_unusable_password()
    person.save(
        update_fields=[
            "email",
            "full_name",
            "preferred_name",
            "phone",
            "is_active",
            "mfa_opt_in",
            "language",
            "time_zone",
            "password",
            "updated_at",
        ]
    )
    tally.counts["accounts.User.anonymised"] += 1
    return dict(sorted(tally.counts.items()))
