"""The self-harm safety pathway: a named clinician is told at once, and nobody is forgotten.

When a patient's answer suggests a risk of self-harm (any PHQ-9 item 9 answer above 0,
or a safety rule a clinic adds), the app that asked the question calls
`record_safety_answer`, which stores the safety event and raises the urgent alert in one
transaction, before anything else about the submission is checked. From there:

1. The alert goes to the responsible clinician: the patient's assigned therapist, or
   for self-guided and coached patients (or when no therapist is assigned) the
   on-call clinician of the patient's team.
2. If there is nobody responsible, it goes straight to a supervisor of the clinic and
   counts as escalated at once; with no supervisor either, to a clinic admin, and the
   error is logged (and `trellis check` names the gap).
3. Unless someone acknowledges it with a note of what they did, `escalate_due_alerts`
   hands it to a supervisor after the clinic's escalation time (default one hour).
4. If the person an open alert is with is suspended, or no longer holds a role that takes
   safety alerts, `reassign_open_safety_alerts` moves it at once to the next person in
   the same order, skipping them.

The answer never replaces clinical judgement: most people who die by suicide answered 0
to item 9. The alert is a prompt to follow up, not a risk assessment.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.language import language_for
from trellis.accounts.models import Membership, Organization, Role, User
from trellis.alerts import queries
from trellis.alerts.models import Alert, AlertKind, AlertState, SafetyEvent, Severity
from trellis.care.models import CareTeamMember, Enrollment
from trellis.engagement.events import emit
from trellis.engagement.models import EventType

logger = logging.getLogger(__name__)

MAX_NOTE = 2000
SYSTEM_LABEL = "Trellis safety pathway"


class AlertNotOpen(ValidationError):
    """The alert was already acknowledged or closed (by someone else, a moment ago)."""


# Who is responsible -----------------------------------------------------------------


def responsible_clinician(enrollment: Enrollment, *, never: User | None = None) -> User | None:
    """The clinician who should follow up a safety event for this enrollment.

    The active therapist supporting the enrollment (primary before secondary); else the
    on-call clinician of the patient's team (for self-guided and coached patients, or a
    therapist-assisted patient with no therapist assigned); else nobody. `never` is not
    chosen (a clinician who is leaving, whose alerts are being handed on).
    """
    therapists = Membership.objects.filter(
        organization_id=enrollment.organization_id, role=Role.THERAPIST, is_active=True
    ).values("user_id")
    members = CareTeamMember.objects.filter(
        enrollment=enrollment,
        active=True,
        supporter__is_active=True,
        supporter_id__in=therapists,
    )
    if never is not None:
        members = members.exclude(supporter_id=never.pk)
    member = members.select_related("supporter").order_by("role", "created_at").first()
    if member is not None:
        return member.supporter
    team = queries.patient_team(enrollment.patient_id, enrollment.organization_id)
    on_call = queries.on_call_of(team)
    if on_call is not None and never is not None and on_call.pk == never.pk:
        return None
    return on_call


def escalation_supervisor(
    enrollment: Enrollment, *, besides: User | None = None, never: User | None = None
) -> User | None:
    """A supervisor to take an alert: the patient's team's supervisor first, else any active
    supervisor of the clinic; someone other than `besides` if there is anyone else, and
    never `never` (a supervisor who is leaving)."""
    team = queries.patient_team(enrollment.patient_id, enrollment.organization_id)
    supervisors = [
        s
        for s in queries.supervisors_of(enrollment.organization_id, team=team)
        if never is None or s.pk != never.pk
    ]
    others = [s for s in supervisors if besides is None or s.pk != besides.pk]
    if others:
        return others[0]
    return supervisors[0] if supervisors else None


def crisis_resources_for(organization: Organization, locale: str | None = None) -> str:
    """What a patient sees at once after a safety answer: the clinic's own crisis text.

    Clinics set one text (in their locale) in the clinic settings; the default is the
    US one (988, or 911 in an emergency). `locale` is accepted so clinics serving
    several languages can be given per-locale texts later without changing callers.
    """
    text = (organization.crisis_resources or "").strip()
    if text:
        return text

    default = Organization._meta.get_field("crisis_resources").default
    return str(default)


# Raising the alert ------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyAnswer:
    """One answer that fired a safety rule, described in words by the app that asked it
    (the measures app knows its questionnaires; this layer only needs the words)."""

    instrument: str  # the instrument's code, e.g. "PHQ-9"
    item: str  # the item's id, e.g. "q9"
    value: int
    rule: str  # the rule's name, e.g. "phq9_item9"
    title: str = ""  # the instrument's short title
    number: int | None = None  # the question's number on the form
    item_text: str = ""  # the question as the patient read it
    answer_label: str = ""  # the answer as the patient chose it, e.g. "Several days"
    description: str = ""  # the question in plain words, for the alert's reason


def safety_reason(answer: SafetyAnswer) -> str:
    """The alert's reason in words, e.g. "Answered 'Several days' to PHQ-9 question 9
    (thoughts of being better off dead or of hurting yourself)"."""
    title = answer.title or answer.instrument
    question = (
        _("%(instrument)s question %(number)s") % {"instrument": title, "number": answer.number}
        if answer.number is not None
        else _("%(instrument)s item %(item)s") % {"instrument": title, "item": answer.item}
    )
    reason = _("Answered '%(answer)s' to %(question)s") % {
        "answer": answer.answer_label or str(answer.value),
        "question": question,
    }
    description = answer.description or answer.item_text
    if description:
        reason += f" ({description})"
    return reason[:300]


@transaction.atomic
def record_safety_answer(
    enrollment: Enrollment,
    answer: SafetyAnswer,
    *,
    actor: Any,
    client_id: uuid.UUID | None,
    now: datetime,
) -> SafetyEvent:
    """A patient gave an answer that suggests a risk of self-harm: store it and raise the
    urgent alert for the responsible clinician, all in one transaction.

    Writes the safety event, its `measures.safety_answer` audit row, the urgent alert, the
    `safety_event` engagement event and the `safety.alert_raised` (and, when nobody is
    responsible, `safety.escalated`) audit rows together: either all of them are stored or
    none is. The e-mail to the clinician goes once the transaction commits. A repeat with the
    same client id (a double tap, a retry) returns the first event and writes nothing.
    """
    defaults = {
        "instrument": answer.instrument,
        "item": answer.item,
        "value": answer.value,
        "occurred_at": now,
    }
    if client_id is None:
        event = SafetyEvent.objects.create(
            enrollment=enrollment, client_id=None, rule=answer.rule, **defaults
        )
    else:
        try:
            # A savepoint: a second copy of the same submission arriving at the same moment
            # meets the once-per-submission constraint and finds the first one's event.
            with transaction.atomic():
                event, created = SafetyEvent.objects.get_or_create(
                    enrollment=enrollment, client_id=client_id, rule=answer.rule, defaults=defaults
                )
        except IntegrityError:
            created = False
            event = SafetyEvent.objects.get(
                enrollment=enrollment, client_id=client_id, rule=answer.rule
            )
        if not created:
            return event
    audit.record(
        action="measures.safety_answer",
        actor=actor,
        subject=event,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "instrument": answer.instrument,
            "item": answer.item,
            "value": answer.value,
            "rule": answer.rule,
        },
        at=now,
    )
    _raise_alert(enrollment, event, answer, now=now)
    return event


def _raise_alert(
    enrollment: Enrollment, event: SafetyEvent, answer: SafetyAnswer, *, now: datetime
) -> Alert:
    """The urgent alert for one safety event, its engagement event and audit rows, and the
    e-mail to the person who must act (sent on commit)."""
    org = enrollment.organization
    data: dict[str, Any] = {
        "instrument": event.instrument,
        "item": event.item,
        "value": event.value,
        "rule": event.rule,
        "safety_event_id": str(event.pk),
        "answer_label": answer.answer_label or str(answer.value),
        "item_text": answer.item_text,
    }
    assignee = responsible_clinician(enrollment)
    escalated_at: datetime | None = None
    escalated_to: User | None = None
    if assignee is None:
        # Nobody is responsible: do not wait an hour for someone who does not exist.
        escalated_to = escalation_supervisor(enrollment)
        if escalated_to is not None:
            data["escalation_reason"] = _(
                "No therapist is assigned and the patient's team has no on-call clinician, "
                "so the alert went straight to a supervisor."
            )
        else:
            admins = queries.admins_of(org)
            escalated_to = admins[0] if admins else None
            data["escalation_reason"] = _(
                "No therapist, on-call clinician or supervisor is configured at this clinic, "
                "so the alert went to a clinic admin."
            )
            logger.error(
                "safety alert for enrollment %s at clinic %s has no clinician or supervisor "
                "to go to (assigned to %s); configure on-call clinicians and supervisors",
                enrollment.pk,
                org.slug,
                "an admin" if escalated_to else "nobody",
            )
        assignee = escalated_to
        escalated_at = now
    alert = Alert.objects.create(
        organization=org,
        enrollment=enrollment,
        kind=AlertKind.SAFETY,
        severity=Severity.URGENT,
        reason=safety_reason(answer),
        data=data,
        assigned_to=assignee,
        safety_event=event,
        raised_at=now,
        escalate_after=now + timedelta(minutes=org.safety_escalation_minutes),
        escalated_at=escalated_at,
        escalated_to=escalated_to,
    )
    emit(enrollment, EventType.SAFETY_EVENT, at=event.occurred_at, value=str(event.value))
    audit.record(
        action="safety.alert_raised",
        actor_label=SYSTEM_LABEL,
        subject=alert,
        patient=enrollment.patient_id,
        organization=org,
        details={
            "instrument": event.instrument,
            "item": event.item,
            "value": event.value,
            "rule": event.rule,
            "assigned_to": str(assignee.pk) if assignee else None,
            "escalate_after": alert.escalate_after.isoformat() if alert.escalate_after else None,
        },
        at=now,
    )
    if escalated_at is not None:
        audit.record(
            action="safety.escalated",
            actor_label=SYSTEM_LABEL,
            subject=alert,
            patient=enrollment.patient_id,
            organization=org,
            details={
                "escalated_to": str(escalated_to.pk) if escalated_to else None,
                "reason": data["escalation_reason"],
            },
            at=now,
        )
    if assignee is not None:
        _notify_on_commit(alert, assignee, escalation=escalated_at is not None)
    return alert


# Escalation -------------------------------------------------------------------------


def escalate_due_alerts(now: datetime) -> list[Alert]:
    """Hand every open safety alert past its time to a supervisor, exactly once.

    Safe to run from several workers at once: each alert is claimed with a conditional
    update, so only one of them escalates (and notifies) it.
    """
    due = list(
        Alert.objects.filter(
            kind=AlertKind.SAFETY,
            state=AlertState.OPEN,
            escalated_at__isnull=True,
            escalate_after__lte=now,
        )
        .order_by("escalate_after")
        .values_list("pk", flat=True)
    )
    escalated = []
    for pk in due:
        alert = _escalate_one(pk, now)
        if alert is not None:
            escalated.append(alert)
    return escalated


@transaction.atomic
def _escalate_one(pk: Any, now: datetime) -> Alert | None:
    alert = Alert.objects.select_related("enrollment", "organization", "assigned_to").get(pk=pk)
    supervisor = escalation_supervisor(alert.enrollment, besides=alert.assigned_to)
    if supervisor is None:
        admins = queries.admins_of(alert.organization_id)
        supervisor = admins[0] if admins else None
        logger.error(
            "safety alert %s is overdue and clinic %s has no supervisor to escalate to "
            "(sent to %s)",
            alert.pk,
            alert.organization.slug,
            "an admin" if supervisor else "nobody",
        )
    claimed = Alert.objects.filter(pk=pk, state=AlertState.OPEN, escalated_at__isnull=True).update(
        escalated_at=now, escalated_to=supervisor, updated_at=now
    )
    if not claimed:
        return None  # acknowledged, or escalated by another worker, in the meantime
    alert.refresh_from_db()
    audit.record(
        action="safety.escalated",
        actor_label=SYSTEM_LABEL,
        subject=alert,
        patient=alert.enrollment.patient_id,
        organization=alert.organization_id,
        details={
            "escalated_to": str(supervisor.pk) if supervisor else None,
            "reason": "not acknowledged in time",
            "assigned_to": str(alert.assigned_to_id) if alert.assigned_to_id else None,
        },
        at=now,
    )
    if supervisor is not None:
        _notify_on_commit(alert, supervisor, escalation=True)
    return alert


# Handing on ------------------------------------------------------------------------


def _last_resort(enrollment: Enrollment, *, never: User) -> User | None:
    """A supervisor, else a clinic admin (logged as an error, as at raising); never `never`."""
    supervisor = escalation_supervisor(enrollment, never=never)
    if supervisor is not None:
        return supervisor
    admins = [a for a in queries.admins_of(enrollment.organization_id) if a.pk != never.pk]
    logger.error(
        "safety alerts of clinic %s being handed on have no supervisor to go to (sent to %s); "
        "configure on-call clinicians and supervisors",
        enrollment.organization.slug,
        "an admin" if admins else "nobody",
    )
    return admins[0] if admins else None


@transaction.atomic
def reassign_open_safety_alerts(
    clinician: User, organization: Organization, *, actor: User | None, why: str, now: datetime
) -> list[Alert]:
    """Hand on, at once, the open safety alerts of a person who can no longer take them
    (suspended at the clinic, or moved to a role that does not take safety alerts).

    Each open (unacknowledged) safety alert of this clinic that is assigned or escalated to
    them goes to the next person in the same order as at raising, skipping them: the
    patient's active therapist, else the team's on-call clinician; with neither, straight to
    a supervisor (escalated at once, and the alert says why), else a clinic admin. An alert
    already escalated to them goes to another supervisor. Each alert gets a
    `safety.reassigned` audit row (from, to, why), and `safety.escalated` when it escalates
    here; whoever newly holds it is e-mailed on commit, as at raising. Acknowledged and
    closed alerts stay as they are: someone has already acted on them.
    """
    alerts = list(
        Alert.objects.select_for_update()
        .filter(organization=organization, kind=AlertKind.SAFETY, state=AlertState.OPEN)
        .filter(Q(assigned_to=clinician) | Q(escalated_to=clinician))
        .select_related("enrollment", "organization")
        .order_by("raised_at")
    )
    for alert in alerts:
        _hand_on(alert, clinician, actor=actor, why=why, now=now)
    return alerts


def _hand_on(alert: Alert, leaving: User, *, actor: User | None, why: str, now: datetime) -> None:
    enrollment = alert.enrollment
    assignee_id, escalated_to_id = alert.assigned_to_id, alert.escalated_to_id
    escalates_now = False
    if alert.escalated_to_id == leaving.pk:
        alert.escalated_to = _last_resort(enrollment, never=leaving)
    if alert.assigned_to_id == leaving.pk:
        assignee = responsible_clinician(enrollment, never=leaving)
        if assignee is None and alert.escalated_at is None:
            # Nobody is responsible now: do not wait for the escalation time.
            alert.escalated_to = _last_resort(enrollment, never=leaving)
            alert.escalated_at = now
            alert.data["escalation_reason"] = _(
                "The clinician it was with can no longer take safety alerts at this clinic, "
                "and there is no other therapist or on-call clinician, so the alert went "
                "straight to a supervisor."
            )
            escalates_now = True
        alert.assigned_to = assignee if assignee is not None else alert.escalated_to
    alert.save(update_fields=["assigned_to", "escalated_to", "escalated_at", "data", "updated_at"])
    holders = {assignee_id, escalated_to_id}
    # Who newly holds the alert (someone who already held it has it in their inbox).
    new_assignee = alert.assigned_to if alert.assigned_to_id not in holders else None
    new_escalation = alert.escalated_to if alert.escalated_to_id not in holders else None
    # The person who takes the leaving one's place: as assignee, else as escalation.
    to = alert.assigned_to if assignee_id == leaving.pk else alert.escalated_to
    audit.record(
        action="safety.reassigned",
        actor=actor,
        actor_label="" if actor is not None else SYSTEM_LABEL,
        subject=alert,
        patient=enrollment.patient_id,
        organization=alert.organization_id,
        details={
            "from": str(leaving.pk),
            "to": str(to.pk) if to is not None else None,
            "why": why[:300],
            "assigned_to": str(alert.assigned_to_id) if alert.assigned_to_id else None,
            "escalated_to": str(alert.escalated_to_id) if alert.escalated_to_id else None,
        },
        at=now,
    )
    if escalates_now:
        audit.record(
            action="safety.escalated",
            actor_label=SYSTEM_LABEL,
            subject=alert,
            patient=enrollment.patient_id,
            organization=alert.organization_id,
            details={
                "escalated_to": str(alert.escalated_to_id) if alert.escalated_to_id else None,
                "reason": alert.data["escalation_reason"],
            },
            at=now,
        )
    if new_assignee is not None:
        escalated = new_assignee.pk == alert.escalated_to_id
        _notify_on_commit(alert, new_assignee, escalation=escalated)
    if new_escalation is not None and new_escalation.pk != alert.assigned_to_id:
        _notify_on_commit(alert, new_escalation, escalation=True)


# Acknowledging ----------------------------------------------------------------------


def clean_note(note: str | None, *, field: str = "note") -> str:
    text = (note or "").strip()
    if not text:
        raise ValidationError(
            {field: _("Write what you did (for example: called the patient, agreed a plan).")}
        )
    if len(text) > MAX_NOTE:
        raise ValidationError(
            {
                field: _("Keep the note to %(max)s characters (it has %(n)s).")
                % {"max": MAX_NOTE, "n": len(text)}
            }
        )
    return text


@transaction.atomic
def acknowledge(alert: Alert, *, actor: User, note: str, now: datetime) -> Alert:
    """A clinician took action on the alert: record who, when and what they did.

    The note of the action taken is required (it is stored encrypted). Raises
    PermissionDenied for anyone who may not, and AlertNotOpen if it was already
    acknowledged or closed.
    """
    if not queries.may_acknowledge(actor, alert):
        raise PermissionDenied(
            _("Only the clinician it is assigned to, or a supervisor, can acknowledge this alert.")
        )
    return mark_acknowledged(alert, actor=actor, note=clean_note(note), now=now)


@transaction.atomic
def mark_acknowledged(alert: Alert, *, actor: User, note: str, now: datetime) -> Alert:
    """The one transition of any alert to acknowledged, after the caller checked who may
    and cleaned the note: who, when, what they did, and the audit row (for a safety alert,
    how long after raising and whether after escalation). Raises AlertNotOpen if it was
    already acknowledged or closed."""
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.state != AlertState.OPEN:
        raise AlertNotOpen({"note": _("This alert was already acknowledged; nothing was changed.")})
    locked.state = AlertState.ACKNOWLEDGED
    locked.acknowledged_at = now
    locked.acknowledged_by = actor
    locked.action_note = note
    locked.save(
        update_fields=["state", "acknowledged_at", "acknowledged_by", "action_note", "updated_at"]
    )
    details: dict[str, Any] = {"kind": locked.kind}
    if locked.kind == AlertKind.SAFETY:
        details["minutes_after_raised"] = int((now - locked.raised_at).total_seconds() // 60)
        details["after_escalation"] = locked.escalated_at is not None
    audit.record(
        action="safety.acknowledged" if locked.kind == AlertKind.SAFETY else "alert.acknowledged",
        actor=actor,
        subject=locked,
        patient=locked.enrollment.patient_id,
        organization=locked.organization_id,
        details=details,
        at=now,
    )
    return locked


# Notifications ----------------------------------------------------------------------


def alert_url(alert: Alert) -> str:
    base = settings.TRELLIS_BASE_URL.rstrip("/")
    return base + reverse("alerts:detail", kwargs={"pk": alert.pk})


def _notify_on_commit(alert: Alert, recipient: User, *, escalation: bool) -> None:
    """Email the person once the alert is safely stored. The in-app notice is the alert
    itself (the count by "Alerts" and the inbox), so it needs no separate row."""
    if not recipient.email:
        return
    url = alert_url(alert)
    email = recipient.email
    name = recipient.display_name
    # The clinician's language, not that of the patient whose answer raised the alert.
    language = language_for(recipient)

    def send() -> None:
        try:
            with translation.override(language):
                _send_alert_email(email, name, url, escalation=escalation)
        except Exception:
            # The alert is stored and in the inbox; a mail server problem must not undo it
            # or break the patient's page. Log loudly so operators see it.
            logger.exception("could not email safety alert %s to %s", alert.pk, email)

    transaction.on_commit(send)


def _send_alert_email(email: str, name: str, url: str, *, escalation: bool) -> None:
    # No patient name, answer or other identifying text: email is not a secure channel.
    if escalation:
        subject = _("Urgent: a safety alert needs a supervisor")
        opening = _(
            "A safety alert about a patient of your clinic has not been acknowledged in time, "
            "or has nobody else to go to, and is now yours to follow up."
        )
    else:
        subject = _("Urgent: a safety alert about a patient of yours")
        opening = _(
            "A patient of yours gave an answer that suggests a risk of self-harm. "
            "Please follow up promptly."
        )
    body = "\n\n".join(
        [
            _("Hello %(name)s,") % {"name": name},
            opening,
            _("Open the alert (you will be asked to sign in): %(url)s") % {"url": url},
            _(
                "When you have acted, acknowledge the alert with a note of what you did. "
                "Unacknowledged alerts go to a supervisor."
            ),
        ]
    )
    EmailMessage(subject=subject, body=body, to=[email]).send()
