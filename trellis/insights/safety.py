"""The self-harm safety pathway: a named clinician is told at once, and nobody is forgotten.

When a patient's answer suggests a risk of self-harm (any PHQ-9 item 9 answer above 0,
or a safety rule a clinic adds), the measures app stores a SafetyEvent and calls
`handle_safety_event`. From there:

1. The alert goes to the responsible clinician: the patient's assigned therapist, or
   for self-guided and coached patients (or when no therapist is assigned) the
   on-call clinician of the patient's team.
2. If there is nobody responsible, it goes straight to a supervisor of the clinic and
   counts as escalated at once; with no supervisor either, to a clinic admin, and the
   error is logged (and `trellis check` names the gap).
3. Unless someone acknowledges it with a note of what they did, `escalate_due_alerts`
   hands it to a supervisor after the clinic's escalation time (default one hour).

The answer never replaces clinical judgement: most people who die by suicide answered 0
to item 9. The alert is a prompt to follow up, not a risk assessment.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Membership, Role, User
from trellis.care.models import CareTeamMember, Enrollment
from trellis.insights import queries
from trellis.insights.models import Alert, AlertKind, AlertState, Severity

if TYPE_CHECKING:
    from trellis.accounts.models import Organization
    from trellis.measures.models import SafetyEvent

logger = logging.getLogger(__name__)

MAX_NOTE = 2000
SYSTEM_LABEL = "Trellis safety pathway"

# Plain-words descriptions of the questions a safety rule usually watches, for the alert's
# reason. Other items are described by their own wording.
ITEM_DESCRIPTIONS = {
    ("phq9", 9): "thoughts of being better off dead or of hurting yourself",
}
# The PHQ family's answer labels, used if the instrument file cannot be read.
PHQ_LABELS = {
    0: "Not at all",
    1: "Several days",
    2: "More than half the days",
    3: "Nearly every day",
}


class AlertNotOpen(ValidationError):
    """The alert was already acknowledged or closed (by someone else, a moment ago)."""


# Who is responsible -----------------------------------------------------------------


def responsible_clinician(enrollment: Enrollment) -> User | None:
    """The clinician who should follow up a safety event for this enrollment.

    The active therapist supporting the enrollment (primary before secondary); else the
    on-call clinician of the patient's team (for self-guided and coached patients, or a
    therapist-assisted patient with no therapist assigned); else nobody.
    """
    therapists = Membership.objects.filter(
        organization_id=enrollment.organization_id, role=Role.THERAPIST, is_active=True
    ).values("user_id")
    member = (
        CareTeamMember.objects.filter(
            enrollment=enrollment,
            active=True,
            supporter__is_active=True,
            supporter_id__in=therapists,
        )
        .select_related("supporter")
        .order_by("role", "created_at")
        .first()
    )
    if member is not None:
        return member.supporter
    team = queries.patient_team(enrollment.patient_id, enrollment.organization_id)
    return queries.on_call_of(team)


def escalation_supervisor(enrollment: Enrollment, *, besides: User | None = None) -> User | None:
    """A supervisor to take an alert: the patient's team's supervisor first, else any active
    supervisor of the clinic; someone other than `besides` if there is anyone else."""
    team = queries.patient_team(enrollment.patient_id, enrollment.organization_id)
    supervisors = queries.supervisors_of(enrollment.organization_id, team=team)
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
    from trellis.accounts.models import Organization as Org

    default = Org._meta.get_field("crisis_resources").default
    return str(default)


# Raising the alert ------------------------------------------------------------------


def _instrument_key(code: str) -> str:
    return re.sub(r"[^a-z0-9]", "", code.lower())


def _describe(event: SafetyEvent) -> dict[str, Any]:
    """The answer in words: instrument name, question number and wording, answer label."""
    instrument: Any = None
    try:
        from trellis.measures.instruments import get_instrument

        instrument = get_instrument(event.instrument)
    except Exception:  # a missing description must never stop the alert
        instrument = None
    number: int | None = None
    item_text = ""
    label = ""
    short_title = event.instrument.upper()
    if instrument is not None:
        short_title = getattr(instrument, "short_title", "") or getattr(
            instrument, "title", short_title
        )
        items = list(getattr(instrument, "items", []) or [])
        for index, item in enumerate(items, start=1):
            if str(getattr(item, "id", "")) == str(event.item):
                number = index
                item_text = str(getattr(item, "text", ""))
                options = getattr(item, "options", None) or getattr(instrument, "options", [])
                for option in options or []:
                    if getattr(option, "value", None) == event.value:
                        label = str(getattr(option, "label", ""))
                break
    if number is None:
        digits = re.findall(r"\d+", str(event.item))
        number = int(digits[-1]) if digits else None
    key = _instrument_key(event.instrument)
    if key == "phq9" and short_title == event.instrument.upper():
        short_title = "PHQ-9"
    if not label and key.startswith("phq"):
        label = PHQ_LABELS.get(event.value, "")
    description = ITEM_DESCRIPTIONS.get((key, number or 0), "") or item_text
    return {
        "short_title": short_title,
        "number": number,
        "item_text": item_text,
        "description": description,
        "label": label or str(event.value),
    }


def safety_reason(event: SafetyEvent) -> str:
    """The alert's reason in words, e.g. "Answered 'Several days' to PHQ-9 question 9
    (thoughts of being better off dead or of hurting yourself)"."""
    facts = _describe(event)
    question = (
        _("%(instrument)s question %(number)s")
        % {"instrument": facts["short_title"], "number": facts["number"]}
        if facts["number"] is not None
        else _("%(instrument)s item %(item)s")
        % {"instrument": facts["short_title"], "item": event.item}
    )
    reason = _("Answered '%(answer)s' to %(question)s") % {
        "answer": facts["label"],
        "question": question,
    }
    if facts["description"]:
        reason += f" ({facts['description']})"
    return reason[:300]


@transaction.atomic
def handle_safety_event(event: SafetyEvent, *, now: datetime) -> Alert:
    """Raise the urgent alert for one safety event and tell the person who must act.

    Idempotent: a second call for the same event returns the first alert and sends
    nothing. Writes the `safety_event` engagement event and the `safety.alert_raised`
    audit row in the same transaction; the email goes once the transaction commits.
    """
    existing = Alert.objects.filter(safety_event=event).first()
    if existing is not None:
        return existing
    from trellis.engagement.events import emit
    from trellis.engagement.models import EventType

    enrollment = Enrollment.objects.select_related("organization", "patient").get(
        pk=event.enrollment_id
    )
    org = enrollment.organization
    facts = _describe(event)
    data: dict[str, Any] = {
        "instrument": event.instrument,
        "item": event.item,
        "value": event.value,
        "rule": event.rule,
        "response_id": str(event.response_id) if event.response_id else None,
        "safety_event_id": str(event.pk),
        "answer_label": facts["label"],
        "item_text": facts["item_text"],
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
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                organization=org,
                enrollment=enrollment,
                kind=AlertKind.SAFETY,
                severity=Severity.URGENT,
                reason=safety_reason(event),
                data=data,
                assigned_to=assignee,
                safety_event=event,
                raised_at=now,
                escalate_after=now + timedelta(minutes=org.safety_escalation_minutes),
                escalated_at=escalated_at,
                escalated_to=escalated_to,
            )
    except IntegrityError:
        # Another worker handled the same event a moment ago.
        return Alert.objects.get(safety_event=event)
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


def raise_missing_alerts(now: datetime) -> list[Alert]:
    """A safety event whose alert could not be raised when it happened (a database hiccup,
    a bug) gets its alert now: the clock runs this every minute before escalating."""
    from trellis.measures.models import SafetyEvent

    raised = []
    for event in SafetyEvent.objects.filter(alerts__isnull=True).order_by("occurred_at"):
        try:
            raised.append(handle_safety_event(event, now=now))
        except Exception:
            logger.exception("could not raise the alert for safety event %s", event.pk)
    return raised


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


# Acknowledging ----------------------------------------------------------------------


def may_acknowledge(user: Any, alert: Alert) -> bool:
    """The assigned clinician, the supervisor it was escalated to, or any supervisor of the
    clinic, while they still hold a role there."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if queries.is_supervisor(user, alert.organization_id):
        return True
    if user.pk not in {alert.assigned_to_id, alert.escalated_to_id}:
        return False
    return queries.active_member(user, alert.organization_id, queries.ALERT_ROLES)


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
    if not may_acknowledge(actor, alert):
        raise PermissionDenied(
            _("Only the clinician it is assigned to, or a supervisor, can acknowledge this alert.")
        )
    text = clean_note(note)
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.state != AlertState.OPEN:
        raise AlertNotOpen({"note": _("This alert was already acknowledged; nothing was changed.")})
    locked.state = AlertState.ACKNOWLEDGED
    locked.acknowledged_at = now
    locked.acknowledged_by = actor
    locked.action_note = text
    locked.save(
        update_fields=["state", "acknowledged_at", "acknowledged_by", "action_note", "updated_at"]
    )
    audit.record(
        action="safety.acknowledged" if locked.kind == AlertKind.SAFETY else "alert.acknowledged",
        actor=actor,
        subject=locked,
        patient=locked.enrollment.patient_id,
        organization=locked.organization_id,
        details={
            "kind": locked.kind,
            "minutes_after_raised": int((now - locked.raised_at).total_seconds() // 60),
            "after_escalation": locked.escalated_at is not None,
        },
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

    def send() -> None:
        try:
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
