"""Stepped care: suggesting more or less support, a clinician's decision, telling the patient,
and moving a patient to another supporter.

A supporter (or an alert rule, actor None) suggests a new level with a reason; a therapist or
supervisor of the clinic confirms or declines. Every step is audited in its own transaction;
the audit row says how long the reason or note was, never its words (they are stored
encrypted on the change itself).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import CLINICAL_ROLES, Role, User
from trellis.accounts.queries import holds_role
from trellis.care.models import (
    CareTeamMember,
    Enrollment,
    StepChangeStatus,
    SteppedCareChange,
    SupporterRole,
    SupportLevel,
)

MAX_REASON = 500
# Who may decide a change of support: a clinical decision, so not coaches.
DECIDING_ROLES = frozenset({Role.THERAPIST, Role.SUPERVISOR})

ORDER = [SupportLevel.SELF_GUIDED, SupportLevel.COACHED, SupportLevel.THERAPIST_ASSISTED]


def direction(change: SteppedCareChange) -> str:
    """ "up" or "down", in clinic words for the record."""
    return "up" if ORDER.index(change.to_level) > ORDER.index(change.from_level) else "down"  # type: ignore[arg-type]


def patient_notice(to_level: str) -> str:
    """What the patient reads on Today after a confirmed change, in plain words."""
    if to_level == SupportLevel.THERAPIST_ASSISTED:
        return _(
            "Your care team has changed your support: a therapist will now work with you "
            "through the program and reply to your messages."
        )
    if to_level == SupportLevel.COACHED:
        return _(
            "Your care team has changed your support: a coach will now check in with you "
            "regularly as you work through the program."
        )
    return _(
        "Your care team has changed your support: from now on you work through the program "
        "on your own. If you would like more help, tell your clinic at any time."
    )


@transaction.atomic
def suggest_step_change(
    enrollment: Enrollment,
    *,
    to_level: str,
    reason: str,
    actor: User | None = None,
    now: datetime,
) -> SteppedCareChange:
    """Suggest stepping a patient's support up or down, saying why. `actor` None is a rule."""
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if to_level not in SupportLevel.values:
        errors["to_level"] = _("Choose a level of support.")
    elif to_level == enrollment.support_level:
        errors["to_level"] = _("The patient already has this level of support.")
    if not reason:
        errors["reason"] = _("Say briefly why the support should change.")
    elif len(reason) > MAX_REASON:
        errors["reason"] = _("Keep the reason under %(n)s characters.") % {"n": MAX_REASON}
    if errors:
        raise ValidationError(errors)
    if not enrollment.is_active:
        raise ValidationError({"to_level": _("This patient's program has ended.")})
    if actor is not None and not holds_role(actor, enrollment.organization_id, CLINICAL_ROLES):
        raise PermissionDenied(_("Only the clinic's coaches, therapists and supervisors may."))
    if SteppedCareChange.objects.filter(
        enrollment=enrollment, status=StepChangeStatus.SUGGESTED
    ).exists():
        raise ValidationError(
            {"to_level": _("A change of support is already waiting for a decision.")}
        )
    try:
        with transaction.atomic():
            change = SteppedCareChange.objects.create(
                enrollment=enrollment,
                from_level=enrollment.support_level,
                to_level=to_level,
                reason=reason,
                suggested_by=actor,
                suggested_at=now,
            )
    except IntegrityError:
        raise ValidationError(
            {"to_level": _("A change of support is already waiting for a decision.")}
        ) from None
    audit.record(
        action="stepped_care.suggest",
        actor=actor,
        actor_label="" if actor is not None else "alert rule",
        subject=change,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"from": change.from_level, "to": to_level, "reason_chars": len(reason)},
        at=now,
    )
    return change


def _decide(
    change: SteppedCareChange, *, actor: User, now: datetime, status: str, note: str
) -> SteppedCareChange:
    if not holds_role(actor, change.enrollment.organization_id, DECIDING_ROLES):
        raise PermissionDenied(_("Only a therapist or supervisor confirms a change of support."))
    locked = SteppedCareChange.objects.select_for_update().get(pk=change.pk)
    if locked.status != StepChangeStatus.SUGGESTED:
        raise ValidationError({"status": _("This suggestion has already been decided.")})
    locked.status = status
    locked.decided_by = actor
    locked.decided_at = now
    locked.decision_note = (note or "").strip()[:MAX_REASON]
    fields = ["status", "decided_by", "decided_at", "decision_note", "updated_at"]
    if status == StepChangeStatus.CONFIRMED:
        locked.patient_notice = patient_notice(locked.to_level)
        fields.append("patient_notice")
    locked.save(update_fields=fields)
    return locked


def set_support_level(enrollment: Enrollment, *, level: str, actor: User, now: datetime) -> None:
    """Write a clinician's confirmed level of support on an enrollment the caller has locked,
    in the caller's transaction (the caller checks who may and writes the audit row)."""
    enrollment.support_level = level
    enrollment.support_level_confirmed_at = now
    enrollment.support_level_confirmed_by = actor
    enrollment.save(
        update_fields=[
            "support_level",
            "support_level_confirmed_at",
            "support_level_confirmed_by",
            "updated_at",
        ]
    )


@transaction.atomic
def confirm_step_change(
    change: SteppedCareChange, *, actor: User, now: datetime, note: str = ""
) -> SteppedCareChange:
    """A therapist or supervisor agrees: the level changes and the patient is told."""
    locked = _decide(change, actor=actor, now=now, status=StepChangeStatus.CONFIRMED, note=note)
    enrollment = Enrollment.objects.select_for_update().get(pk=locked.enrollment_id)
    if not enrollment.is_active:
        raise ValidationError({"status": _("This patient's program has ended.")})
    set_support_level(enrollment, level=locked.to_level, actor=actor, now=now)
    audit.record(
        action="stepped_care.confirm",
        actor=actor,
        subject=locked,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "from": locked.from_level,
            "to": locked.to_level,
            "note_chars": len(locked.decision_note),
        },
        at=now,
    )
    change.status, change.decided_by, change.decided_at = locked.status, actor, now
    change.patient_notice = locked.patient_notice
    return locked


@transaction.atomic
def decline_step_change(
    change: SteppedCareChange, *, actor: User, now: datetime, note: str = ""
) -> SteppedCareChange:
    """A therapist or supervisor disagrees: the level stays; the reason is kept."""
    locked = _decide(change, actor=actor, now=now, status=StepChangeStatus.DECLINED, note=note)
    audit.record(
        action="stepped_care.decline",
        actor=actor,
        subject=locked,
        patient=locked.enrollment.patient_id,
        organization=locked.enrollment.organization_id,
        details={
            "from": locked.from_level,
            "to": locked.to_level,
            "note_chars": len(locked.decision_note),
        },
        at=now,
    )
    change.status, change.decided_by, change.decided_at = locked.status, actor, now
    return locked


@transaction.atomic
def reassign(
    enrollment: Enrollment,
    *,
    to_supporter: User,
    actor: User,
    now: datetime,
    from_supporter: User | None = None,
) -> CareTeamMember:
    """A supervisor moves a patient to another supporter, who becomes the primary one.

    The previous supporter (`from_supporter`, or else the current primary) leaves the care
    team; their row stays, marked inactive, so the history is kept.
    """
    if not holds_role(actor, enrollment.organization_id, frozenset({Role.SUPERVISOR})):
        raise PermissionDenied(_("Only a supervisor of the clinic reassigns patients."))
    if not holds_role(to_supporter, enrollment.organization_id, CLINICAL_ROLES):
        raise ValidationError(
            {"to_supporter": _("Choose a coach, therapist or supervisor of this clinic.")}
        )
    if not enrollment.is_active:
        raise ValidationError({"to_supporter": _("This patient's program has ended.")})
    team = CareTeamMember.objects.select_for_update().filter(enrollment=enrollment)
    leaving = [
        m
        for m in team
        if m.active
        and m.supporter_id != to_supporter.pk
        and (
            m.supporter_id == from_supporter.pk
            if from_supporter is not None
            else m.role == SupporterRole.PRIMARY
        )
    ]
    for member in leaving:
        member.active = False
        member.save(update_fields=["active", "updated_at"])
    existing = next((m for m in team if m.supporter_id == to_supporter.pk), None)
    if existing is None:
        member = CareTeamMember.objects.create(
            enrollment=enrollment, supporter=to_supporter, role=SupporterRole.PRIMARY
        )
    else:
        member = existing
        member.active, member.role = True, SupporterRole.PRIMARY
        member.save(update_fields=["active", "role", "updated_at"])
    audit.record(
        action="enrollment.reassign",
        actor=actor,
        subject=enrollment,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "to": str(to_supporter.pk),
            "from": [str(m.supporter_id) for m in leaving],
        },
        at=now,
    )
    return member
