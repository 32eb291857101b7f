"""Getting a new patient started: consent, eHEALS, the baseline questionnaires, triage and
preferences, then Today. Also withdrawing consent later, and a clinician confirming the
level of support.

Each function is one thing a patient or clinician does, in one transaction, with its audit
row. The questionnaires are written by the measures service (`submit_response`), which
stores a safety answer in its own transaction even when the rest of the form is refused;
so the functions that submit a questionnaire call it first and only then, in their own
transaction, move the patient on. Wrapping both in one transaction would roll a safety
answer back with the refused form.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, Role, User
from trellis.accounts.queries import holds_role
from trellis.alerts.models import SafetyEvent
from trellis.alerts.safety import responsible_clinician
from trellis.alerts.services import raise_alert
from trellis.care import triage
from trellis.care.consent import current_documents
from trellis.care.models import (
    Consent,
    ConsentKind,
    ContactStyle,
    Enrollment,
    EnrollmentStatus,
    Onboarding,
    OnboardingStage,
    Preferences,
    ReminderChannel,
    SupportLevel,
)
from trellis.care.queries import current_enrollment, onboarding_of, supporters_of
from trellis.care.services import MAX_NOTE, add_care_note, set_support_level
from trellis.core import timeutil
from trellis.journey.services import set_simple_mode
from trellis.measures import services as measures
from trellis.measures.models import AssignmentStatus, QuestionnaireAssignment, QuestionnaireResponse

EHEALS = "eHEALS"
PHQ9 = "PHQ-9"
GAD7 = "GAD-7"
BASELINE = (PHQ9, GAD7)
# eHEALS totals 8 to 40; 8 to 20 is the band usually read as inadequate e-health literacy.
EHEALS_INADEQUATE_MAX = 20

# The numbered steps a patient sees ("Step 2 of 5"). A patient whose eHEALS answers
# suggest simple mode is asked about it on a page of its own, numbered after eHEALS.
STEPS = ("consent", "eheals", "phq9", "gad7", "preferences")
SIMPLE_MODE_STEP = "simple_mode"


@dataclass(frozen=True)
class QuestionnaireResult:
    """What the page needs after a questionnaire was accepted."""

    total: int | None
    band: str
    crisis_resources: str | None
    low_health_literacy: bool = False


# Reading -------------------------------------------------------------------------------


def answered(enrollment: Enrollment, instrument: str) -> bool:

    return QuestionnaireResponse.objects.filter(
        enrollment=enrollment, instrument=instrument
    ).exists()


def current_step(onboarding: Onboarding) -> str:
    """Which of STEPS the patient is on."""
    if onboarding.stage == OnboardingStage.BASELINE:
        return "gad7" if answered(onboarding.enrollment, PHQ9) else "phq9"
    if onboarding.stage == OnboardingStage.DONE:
        return "done"
    return str(onboarding.stage)


def steps_for(enrollment: Enrollment | None) -> tuple[str, ...]:
    """The patient's numbered steps: STEPS, with the simple-mode question after eHEALS
    once their eHEALS total is in the inadequate band."""
    if enrollment is not None and low_health_literacy(enrollment):
        at = STEPS.index("eheals") + 1
        return (*STEPS[:at], SIMPLE_MODE_STEP, *STEPS[at:])
    return STEPS


def step_number(step: str, steps: tuple[str, ...] = STEPS) -> int:
    return steps.index(step) + 1


def low_health_literacy(enrollment: Enrollment) -> bool:
    """True when the patient's eHEALS total is in the inadequate band (8 to 20)."""

    total = (
        QuestionnaireResponse.objects.filter(enrollment=enrollment, instrument=EHEALS)
        .order_by("-submitted_at")
        .values_list("total", flat=True)
        .first()
    )
    return total is not None and total <= EHEALS_INADEQUATE_MAX


# Starting ------------------------------------------------------------------------------


@transaction.atomic
def start_onboarding(enrollment: Enrollment, *, actor: User | None, now: datetime) -> Onboarding:
    """Open the getting-started steps for a new enrollment (once; later calls find it)."""
    onboarding, created = Onboarding.objects.get_or_create(
        enrollment=enrollment, defaults={"stage": OnboardingStage.CONSENT}
    )
    if created:
        audit.record(
            action="onboarding.start",
            actor=actor,
            subject=onboarding,
            patient=enrollment.patient_id,
            organization=enrollment.organization_id,
            at=now,
        )
    return onboarding


def _locked(enrollment: Enrollment) -> Onboarding:
    return Onboarding.objects.select_for_update().get(enrollment=enrollment)


def _advance(
    onboarding: Onboarding, stage: str, *, actor: User, now: datetime, details: dict[str, Any]
) -> None:
    onboarding.stage = stage
    fields = ["stage", "updated_at"]
    if stage == OnboardingStage.DONE:
        onboarding.completed_at = now
        fields.append("completed_at")
    onboarding.save(update_fields=fields)
    audit.record(
        action=f"onboarding.{stage}",
        actor=actor,
        subject=onboarding,
        patient=onboarding.enrollment.patient_id,
        organization=onboarding.enrollment.organization_id,
        details=details,
        at=now,
    )


def _check_patient(enrollment: Enrollment, actor: User) -> None:
    if actor.pk != enrollment.patient_id:
        raise PermissionDenied(_("Only the patient answers their own getting-started steps."))


class WrongStage(ValidationError):
    """The patient tried a step that is not (or no longer) theirs to do. When the refused
    answers held a safety answer (acted on all the same), `crisis_resources` is set."""

    def __init__(self, message: Any, *, crisis_resources: str | None = None) -> None:
        super().__init__(message)
        self.crisis_resources = crisis_resources


def _expect(onboarding: Onboarding, stage: str) -> None:
    if onboarding.stage != stage:
        raise WrongStage(_("This step is not open right now."))


# Consent -------------------------------------------------------------------------------


@transaction.atomic
def record_consents(
    enrollment: Enrollment, *, actor: User, answers: Mapping[str, bool], now: datetime
) -> list[Consent]:
    """The patient agrees to (or declines) each consent document shown to them.

    The treatment, data use and automated features documents must be agreed to go on;
    research is optional. Nothing is written unless every required one is agreed.
    """
    _check_patient(enrollment, actor)
    onboarding = _locked(enrollment)
    _expect(onboarding, OnboardingStage.CONSENT)
    documents = current_documents(enrollment.organization, enrollment.organization.locale)
    errors: dict[str, str] = {}
    for doc in documents:
        value = answers.get(doc.kind)
        if value is None:
            errors[doc.kind] = _("Please choose whether you agree.")
        elif doc.required and not value:
            errors[doc.kind] = _(
                "You need to agree to this to use the program. If you would rather not, "
                "you can talk to your clinic about other options."
            )
    if errors:
        raise ValidationError(errors)
    consents = []
    for doc in documents:
        consent = Consent.objects.create(
            user=actor, document=doc, agreed=bool(answers[doc.kind]), answered_at=now
        )
        audit.record(
            action="consent.agree" if consent.agreed else "consent.decline",
            actor=actor,
            subject=consent,
            patient=actor,
            organization=enrollment.organization_id,
            details={"kind": doc.kind, "version": doc.version, "document": str(doc.pk)},
            at=now,
        )
        consents.append(consent)
    onboarding.enrollment = enrollment
    _advance(
        onboarding,
        OnboardingStage.EHEALS,
        actor=actor,
        now=now,
        details={"research": bool(answers.get(ConsentKind.RESEARCH))},
    )
    return consents


# Questionnaires ------------------------------------------------------------------------


def _safety_first(
    enrollment: Enrollment,
    instrument: str,
    *,
    actor: User,
    answers: Mapping[str, Any],
    client_id: uuid.UUID,
    now: datetime,
) -> str | None:
    """Act on the answers' safety rules before the stage is checked; the crisis resources
    to show when one fired (trellis.measures.services.act_on_safety_answers)."""
    return measures.act_on_safety_answers(
        enrollment, instrument, actor=actor, answers=answers, client_id=client_id, now=now
    ).crisis_resources


def _submit(
    enrollment: Enrollment,
    instrument: str,
    *,
    actor: User,
    answers: Mapping[str, Any],
    client_id: uuid.UUID,
    now: datetime,
    occasion: str,
) -> Any:
    """The measures service's submit_response, answering the patient's own getting-started
    (eHEALS) or baseline (PHQ-9, GAD-7) assignment."""

    return measures.submit_response(
        enrollment,
        instrument,
        actor=actor,
        answers=dict(answers),
        client_id=client_id,
        now=now,
        assignment=_assignment(enrollment, instrument, occasion),
    )


def _assignment(enrollment: Enrollment, instrument: str, occasion: str) -> Any:

    return (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            instrument=instrument,
            occasion=occasion,
            status__in=[AssignmentStatus.PENDING, AssignmentStatus.OVERDUE],
        )
        .order_by("sequence")
        .first()
    )


def _result(submitted: Any, *, low: bool = False) -> QuestionnaireResult:
    score = submitted.score
    band = getattr(getattr(score, "band", None), "label", "") if score is not None else ""
    total = getattr(score, "total", None) if score is not None else submitted.response.total
    return QuestionnaireResult(
        total=total,
        band=str(band or ""),
        crisis_resources=submitted.crisis_resources,
        low_health_literacy=low,
    )


def _walkthrough_alert(enrollment: Enrollment, total: int | None, now: datetime) -> None:

    primary = supporters_of(enrollment).first()
    raise_alert(
        enrollment,
        kind="walkthrough",
        severity="low",
        reason=_(
            "Their answers about using health information online suggest they may find the "
            "program hard to use. Please offer a short walkthrough."
        ),
        data={"instrument": EHEALS, "total": total},
        assigned_to=primary.supporter if primary else None,
        now=now,
    )


def submit_eheals(
    enrollment: Enrollment,
    *,
    actor: User,
    answers: Mapping[str, Any],
    client_id: uuid.UUID,
    now: datetime,
) -> QuestionnaireResult:
    """The patient answers eHEALS. A low score suggests simple mode to them and asks their
    supporter (a low-severity walkthrough alert) to offer a walkthrough."""
    _check_patient(enrollment, actor)
    crisis = _safety_first(
        enrollment, EHEALS, actor=actor, answers=answers, client_id=client_id, now=now
    )
    onboarding = onboarding_of(enrollment)
    if onboarding is None or onboarding.stage != OnboardingStage.EHEALS:
        raise WrongStage(_("This step is not open right now."), crisis_resources=crisis)
    submitted = _submit(
        enrollment,
        EHEALS,
        actor=actor,
        answers=answers,
        client_id=client_id,
        now=now,
        occasion="onboarding",
    )
    total = submitted.response.total
    low = total is not None and total <= EHEALS_INADEQUATE_MAX
    with transaction.atomic():
        locked = _locked(enrollment)
        if locked.stage == OnboardingStage.EHEALS:
            locked.enrollment = enrollment
            _advance(
                locked,
                OnboardingStage.BASELINE,
                actor=actor,
                now=now,
                details={"eheals_total": total, "simple_mode_suggested": low},
            )
            if low:
                _walkthrough_alert(enrollment, total, now)
    return _result(submitted, low=low)


@transaction.atomic
def choose_simple_mode(
    enrollment: Enrollment, *, actor: User, enabled: bool, now: datetime
) -> Preferences:
    """The patient's answer to the simple-mode suggestion after eHEALS."""

    _check_patient(enrollment, actor)
    prefs = set_simple_mode(user=actor, enabled=enabled, actor=actor, now=now)
    audit.record(
        action="onboarding.simple_mode_choice",
        actor=actor,
        subject=prefs,
        patient=actor,
        organization=enrollment.organization_id,
        details={"enabled": enabled},
        at=now,
    )
    return prefs


def _baseline_total(enrollment: Enrollment, instrument: str) -> int | None:
    """The total of the patient's baseline answer to this questionnaire (None if unscored)."""
    total: int | None = (
        QuestionnaireResponse.objects.filter(
            enrollment=enrollment, instrument=instrument, assignment__occasion="baseline"
        )
        .order_by("submitted_at")
        .values_list("total", flat=True)
        .first()
    )
    return total


def _baseline_item9(enrollment: Enrollment) -> int | None:
    """The highest answer to PHQ-9 item 9 (thoughts of self-harm) the patient has given in
    this enrollment: in the latest baseline PHQ-9, or in a form that was refused but whose
    safety answer was acted on (a safety event). None when there is neither."""

    answers = (
        QuestionnaireResponse.objects.filter(
            enrollment=enrollment, instrument=PHQ9, assignment__occasion="baseline"
        )
        .order_by("-submitted_at")
        .values_list("answers", flat=True)
        .first()
    )
    value = (answers or {}).get("q9")
    stored = value if isinstance(value, int) else None
    raised = SafetyEvent.objects.filter(
        enrollment=enrollment, instrument=PHQ9, item="q9"
    ).aggregate(highest=Max("value"))["highest"]
    known = [v for v in (stored, raised) if v is not None]
    return max(known) if known else None


def submit_baseline(
    enrollment: Enrollment,
    instrument: str,
    *,
    actor: User,
    answers: Mapping[str, Any],
    client_id: uuid.UUID,
    now: datetime,
) -> QuestionnaireResult:
    """The patient answers a baseline PHQ-9 or GAD-7. After both, triage suggests a level
    of support for a clinician to confirm, and the patient goes on to preferences.

    A refused form raises ValidationError (from the measures service); if it held a
    safety answer, that answer is already stored and acted on, and the error carries
    `crisis_resources` for the page.
    """
    if instrument not in BASELINE:
        raise ValidationError({"instrument": _("That is not a baseline questionnaire.")})
    _check_patient(enrollment, actor)
    crisis = _safety_first(
        enrollment, instrument, actor=actor, answers=answers, client_id=client_id, now=now
    )
    onboarding = onboarding_of(enrollment)
    if onboarding is None or onboarding.stage != OnboardingStage.BASELINE:
        raise WrongStage(_("This step is not open right now."), crisis_resources=crisis)
    onboarding.enrollment = enrollment
    expected = current_step(onboarding)
    # Out of order is refused, except the same page sent again (a double tap), which the
    # measures service answers with the first result.
    if instrument.replace("-", "").lower() != expected and not measures.sent_before(
        enrollment, client_id
    ):
        raise WrongStage(_("This step is not open right now."), crisis_resources=crisis)
    submitted = _submit(
        enrollment,
        instrument,
        actor=actor,
        answers=answers,
        client_id=client_id,
        now=now,
        occasion="baseline",
    )
    with transaction.atomic():
        locked = _locked(enrollment)
        locked.enrollment = enrollment
        audit.record(
            action="onboarding.baseline_answered",
            actor=actor,
            subject=locked,
            patient=enrollment.patient_id,
            organization=enrollment.organization_id,
            details={"instrument": instrument},
            at=now,
        )
        if locked.stage == OnboardingStage.BASELINE and all(
            answered(enrollment, code) for code in BASELINE
        ):
            suggestion = apply_triage(enrollment, now=now)
            _advance(
                locked,
                OnboardingStage.PREFERENCES,
                actor=actor,
                now=now,
                details={"suggested_support_level": suggestion.level},
            )
    return _result(submitted)


# Triage --------------------------------------------------------------------------------


@transaction.atomic
def apply_triage(enrollment: Enrollment, *, now: datetime) -> triage.Suggestion:
    """Store the suggested level of support from the baseline questionnaires, and ask the
    responsible clinician (a triage alert) to confirm or change it."""

    suggestion = triage.suggest(
        phq9=_baseline_total(enrollment, PHQ9),
        gad7=_baseline_total(enrollment, GAD7),
        settings=enrollment.organization.triage_settings,
        phq9_item9=_baseline_item9(enrollment),
    )
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    locked.suggested_support_level = suggestion.level
    locked.suggestion_reason = suggestion.reason[:300]
    locked.save(update_fields=["suggested_support_level", "suggestion_reason", "updated_at"])
    enrollment.suggested_support_level = locked.suggested_support_level
    enrollment.suggestion_reason = locked.suggestion_reason
    audit.record(
        action="enrollment.triage_suggest",
        subject=locked,
        patient=locked.patient_id,
        organization=locked.organization_id,
        details={"suggested": suggestion.level, "current": locked.support_level},
        at=now,
    )
    raise_alert(
        locked,
        kind="triage",
        severity="medium",
        reason=_("Please confirm the level of support. Suggested: %(level)s. %(reason)s")
        % {"level": SupportLevel(suggestion.level).label, "reason": suggestion.reason},
        data={"suggested": suggestion.level, "current": locked.support_level},
        assigned_to=_triage_clinician(locked),
        now=now,
    )
    return suggestion


def _triage_clinician(enrollment: Enrollment) -> User | None:
    clinician: User | None = responsible_clinician(enrollment)
    return clinician


def can_confirm_support(user: Any, organization: Organization) -> bool:
    """Confirming a level of support is a clinical decision: therapists and supervisors."""
    return holds_role(user, organization, (Role.THERAPIST, Role.SUPERVISOR))


@transaction.atomic
def confirm_support_level(
    enrollment: Enrollment, *, actor: User, level: str, now: datetime, note: str = ""
) -> Enrollment:
    """A clinician confirms the suggested level of support, or chooses another one.

    A note for the record becomes a care note (encrypted, read by the care team); the audit
    row says how long it was, never its words.
    """
    if level not in SupportLevel.values:
        raise ValidationError({"level": _("Choose a level of support.")})
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": _("Keep a note under %(n)s characters.") % {"n": MAX_NOTE}})
    if not can_confirm_support(actor, enrollment.organization):
        raise PermissionDenied(_("Only therapists and supervisors confirm a level of support."))
    locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if locked.status != EnrollmentStatus.ACTIVE:
        raise ValidationError({"level": _("This enrollment has ended.")})
    previous = locked.support_level
    set_support_level(locked, level=level, actor=actor, now=now)
    if note:
        add_care_note(locked, author=actor, body=note, now=now)
    audit.record(
        action="enrollment.support_level_confirm",
        actor=actor,
        subject=locked,
        patient=locked.patient_id,
        organization=locked.organization_id,
        details={
            "previous": previous,
            "level": level,
            "suggested": locked.suggested_support_level,
            "note_chars": len(note),
        },
        at=now,
    )
    return locked


# Preferences ---------------------------------------------------------------------------


@transaction.atomic
def save_preferences(
    *,
    user: User,
    actor: User,
    contact_style: str,
    reminder_channels: Iterable[str],
    quiet_hours_start: time | None,
    quiet_hours_end: time | None,
    time_zone: str,
    now: datetime,
) -> Preferences:
    """How the patient likes to be contacted and reminded, and when not to be."""
    if actor.pk != user.pk:
        raise PermissionDenied(_("Only the patient changes their own preferences."))
    channels = list(dict.fromkeys(reminder_channels))
    errors: dict[str, str] = {}
    if contact_style not in ContactStyle.values:
        errors["contact_style"] = _("Choose how you would like to be in touch.")
    if any(c not in ReminderChannel.values for c in channels):
        errors["reminder_channels"] = _("Choose from the channels listed.")
    if (quiet_hours_start is None) != (quiet_hours_end is None):
        errors["quiet_hours_end"] = _("Give both a start and an end, or leave both empty.")
    elif quiet_hours_start is not None and quiet_hours_start == quiet_hours_end:
        errors["quiet_hours_end"] = _("The end must be different from the start.")
    if time_zone and not timeutil.is_valid_zone(time_zone):
        errors["time_zone"] = _("Choose a time zone from the list.")
    if errors:
        raise ValidationError(errors)
    prefs, _created = Preferences.objects.select_for_update().get_or_create(user=user)
    prefs.contact_style = contact_style
    prefs.reminder_channels = channels
    prefs.quiet_hours_start = quiet_hours_start
    prefs.quiet_hours_end = quiet_hours_end
    prefs.time_zone = time_zone
    prefs.save(
        update_fields=[
            "contact_style",
            "reminder_channels",
            "quiet_hours_start",
            "quiet_hours_end",
            "time_zone",
            "updated_at",
        ]
    )
    enrollment = current_enrollment(user)
    audit.record(
        action="preferences.update",
        actor=actor,
        subject=prefs,
        patient=user,
        organization=enrollment.organization_id if enrollment else None,
        details={
            "contact_style": contact_style,
            "reminder_channels": channels,
            "quiet_hours": bool(quiet_hours_start),
            "time_zone": time_zone,
        },
        at=now,
    )
    return prefs


@transaction.atomic
def finish_preferences(enrollment: Enrollment, *, actor: User, now: datetime) -> Onboarding:
    """The last getting-started step is done: Today opens."""
    _check_patient(enrollment, actor)
    onboarding = _locked(enrollment)
    _expect(onboarding, OnboardingStage.PREFERENCES)
    onboarding.enrollment = enrollment
    _advance(onboarding, OnboardingStage.DONE, actor=actor, now=now, details={})
    return onboarding


@transaction.atomic
def mark_done(enrollment: Enrollment, *, actor: User | None, now: datetime) -> Onboarding:
    """Count a patient as already started (the demo's patients, or someone onboarded
    elsewhere). Running it again changes nothing."""
    onboarding, created = Onboarding.objects.select_for_update().get_or_create(
        enrollment=enrollment,
        defaults={"stage": OnboardingStage.DONE, "completed_at": now},
    )
    if not created and onboarding.stage == OnboardingStage.DONE:
        return onboarding
    if not created:
        onboarding.enrollment = enrollment
        onboarding.stage = OnboardingStage.DONE
        onboarding.completed_at = now
        onboarding.save(update_fields=["stage", "completed_at", "updated_at"])
    audit.record(
        action="onboarding.done",
        actor=actor,
        subject=onboarding,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"marked": True},
        at=now,
    )
    return onboarding
