"""Writing alerts and on-call duty. The safety pathway itself is in `safety.py`.

Every function is one thing a person or a job does, in one transaction, with its audit row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, Team, User
from trellis.alerts import queries, safety
from trellis.alerts.models import (
    RULE_KINDS,
    Alert,
    AlertKind,
    AlertRuleSetting,
    AlertState,
    Severity,
)
from trellis.alerts.rule_settings import DEFAULTS, THRESHOLD_LIMITS, setting_for, settings_table
from trellis.alerts.safety import AlertNotOpen, clean_note
from trellis.care.models import Enrollment
from trellis.core import timeutil

MAX_REASON = 300


LIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)


@transaction.atomic
def raise_alert(
    enrollment: Enrollment,
    *,
    kind: str,
    severity: str,
    reason: str,
    data: dict[str, Any] | None = None,
    assigned_to: User | None,
    now: datetime,
    actor: User | None = None,
    condition_since: datetime | None = None,
) -> Alert | None:
    """Point a clinician to one enrollment (offer a walkthrough, a missed session...).

    One live alert of a kind per enrollment: raising it again while one is open or
    acknowledged returns that one. For the kinds a clinic can configure (inactivity,
    missed session, unanswered message, deterioration, no improvement), nothing is
    raised and None is returned when the clinic switched the rule off for the patient's
    level of support. Safety alerts are raised only through `safety.handle_safety_event`.
    `condition_since` is when the condition began (see Alert.condition_since).
    """
    if kind not in AlertKind.values or kind == AlertKind.SAFETY:
        raise ValidationError({"kind": f"Alerts of kind {kind!r} cannot be raised here."})
    if severity not in Severity.values:
        raise ValidationError({"severity": f"Unknown severity {severity!r}."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("An alert needs its reason in words.")})
    if (
        kind in RULE_KINDS
        and not setting_for(enrollment.organization_id, kind, enrollment.support_level).enabled
    ):
        return None
    existing = Alert.objects.filter(enrollment=enrollment, kind=kind, state__in=LIVE_STATES)
    found = existing.first()
    if found is not None:
        return found
    try:
        # A savepoint: a second worker raising the same alert at the same moment meets the
        # one-live-alert constraint, and gets the alert the first one made.
        with transaction.atomic():
            alert = Alert.objects.create(
                organization_id=enrollment.organization_id,
                enrollment=enrollment,
                kind=kind,
                severity=severity,
                reason=reason[:MAX_REASON],
                data=dict(data or {}),
                assigned_to=assigned_to,
                raised_at=now,
                condition_since=condition_since,
            )
    except IntegrityError:
        return existing.first()
    audit.record(
        action="alert.raised",
        actor=actor,
        actor_label="" if actor else "Trellis",
        subject=alert,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "kind": kind,
            "severity": severity,
            "assigned_to": str(assigned_to.pk) if assigned_to else None,
        },
        at=now,
    )
    return alert


@transaction.atomic
def close_alert(
    alert: Alert, *, actor: User, state: str, note: str = "", reason: str = "", now: datetime
) -> Alert:
    """Resolve or dismiss an alert. Dismissing needs a reason; a safety alert is never
    closed without a note of the action taken."""
    if state not in (AlertState.RESOLVED, AlertState.DISMISSED):
        raise ValidationError({"state": _("An alert is closed as resolved or dismissed.")})
    if not queries.may_handle(actor, alert):
        raise PermissionDenied(_("You cannot close this alert."))
    reason = (reason or "").strip()
    if state == AlertState.DISMISSED and not reason:
        raise ValidationError({"reason": _("Say why the alert is being dismissed.")})
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    if locked.state in (AlertState.RESOLVED, AlertState.DISMISSED):
        raise AlertNotOpen({"state": _("This alert is already closed.")})
    fields = ["state", "closed_at", "closed_by", "close_reason", "updated_at"]
    # A safety alert acknowledged earlier already has its note of the action taken.
    if note or (locked.kind == AlertKind.SAFETY and not locked.action_note):
        locked.action_note = clean_note(note)
        fields.append("action_note")
    locked.state = state
    locked.closed_at = now
    locked.closed_by = actor
    locked.close_reason = reason[:MAX_REASON]
    locked.save(update_fields=fields)
    audit.record(
        action=f"{'safety' if locked.kind == AlertKind.SAFETY else 'alert'}.{state}",
        actor=actor,
        subject=locked,
        patient=locked.enrollment.patient_id,
        organization=locked.organization_id,
        # How long the reason is, never its words: the trail is read beyond the care team.
        details={"kind": locked.kind, "reason_chars": len(locked.close_reason)},
        at=now,
    )
    return locked


@transaction.atomic
def acknowledge_alert(alert: Alert, *, actor: User, note: str = "", now: datetime) -> Alert:
    """Someone has taken an alert on. A safety alert needs a note of the action taken (see
    `safety.acknowledge`); for other kinds the note is optional."""
    if alert.kind == AlertKind.SAFETY:
        return safety.acknowledge(alert, actor=actor, note=note, now=now)
    if not queries.may_handle(actor, alert):
        raise PermissionDenied(_("You cannot acknowledge this alert."))
    text = clean_note(note) if (note or "").strip() else ""
    return safety.mark_acknowledged(alert, actor=actor, note=text, now=now)


@transaction.atomic
def resolve_automatically(alert: Alert, *, reason: str, now: datetime) -> bool:
    """A rule's condition has ended (activity returned, a reply was sent): close the alert
    as resolved by Trellis. False if someone closed it first."""
    closed = Alert.objects.filter(pk=alert.pk, state__in=LIVE_STATES).update(
        state=AlertState.RESOLVED, closed_at=now, close_reason=reason[:MAX_REASON], updated_at=now
    )
    if not closed:
        return False
    audit.record(
        action="alert.resolved",
        actor=None,
        actor_label="Trellis",
        subject=alert,
        patient=alert.enrollment.patient_id,
        organization=alert.organization_id,
        details={"kind": alert.kind, "reason": reason[:MAX_REASON], "automatic": True},
        at=now,
    )
    return True


@transaction.atomic
def set_on_call_clinician(
    team: Team, *, clinician: User | None, actor: User | None, now: datetime | None = None
) -> Team:
    """Choose who takes safety alerts for a team's patients who have no therapist.

    The clinician must be an active therapist or supervisor of the team's clinic. Setting
    nobody is allowed (a clinic may be reorganising) but `trellis check` and the admin
    pages then report it.
    """
    now = now or timeutil.now()
    if clinician is not None and not queries.active_member(
        clinician, team.organization_id, queries.ON_CALL_ROLES
    ):
        raise ValidationError(
            {
                "clinician": _("%(name)s is not an active therapist or supervisor of this clinic.")
                % {"name": clinician.display_name}
            }
        )
    if actor is not None and not queries.active_member(
        actor, team.organization_id, queries.ON_CALL_MANAGER_ROLES
    ):
        raise PermissionDenied(_("Only the clinic's admins and supervisors can do this."))
    locked = Team.objects.select_for_update().get(pk=team.pk)
    before = locked.on_call_clinician_id
    after = clinician.pk if clinician is not None else None
    if before == after:
        return locked
    locked.on_call_clinician = clinician
    locked.save(update_fields=["on_call_clinician", "updated_at"])
    audit.record(
        action="team.on_call_change",
        actor=actor,
        subject=locked,
        organization=locked.organization_id,
        details={
            "team": locked.name,
            "from": str(before) if before else None,
            "to": str(after) if after else None,
        },
        at=now,
    )
    return locked


@transaction.atomic
def save_rule_settings(
    organization: Organization,
    *,
    values: dict[tuple[str, str], tuple[bool, int | None]],
    actor: User,
    now: datetime,
) -> list[dict[str, Any]]:
    """A clinic admin or supervisor sets which alert rules are on, and their thresholds,
    per level of support. Only what changed is written and audited; returns the changes."""

    if not queries.active_member(actor, organization.pk, queries.ON_CALL_MANAGER_ROLES):
        raise PermissionDenied(_("Only the clinic's admins and supervisors can do this."))
    current = {(s.kind, s.support_level): s for s in settings_table(organization.pk)}
    changes: list[dict[str, Any]] = []
    for (kind, level), (enabled, threshold) in values.items():
        if (kind, level) not in current:
            raise ValidationError({"__all__": f"Unknown rule {kind!r} for {level!r}."})
        rule = DEFAULTS[kind]
        if rule.unit:
            low, high = THRESHOLD_LIMITS[rule.unit]
            if threshold is None or not low <= threshold <= high:
                raise ValidationError(
                    {
                        f"{kind}__{level}__threshold": _(
                            "Choose a number from %(low)d to %(high)d."
                        )
                        % {"low": low, "high": high}
                    }
                )
        else:
            threshold = None
        before = current[(kind, level)]
        if before.enabled == enabled and before.threshold == threshold:
            continue
        AlertRuleSetting.objects.update_or_create(
            organization=organization,
            kind=kind,
            support_level=level,
            defaults={"enabled": enabled, "threshold": threshold},
        )
        changes.append(
            {
                "kind": kind,
                "support_level": level,
                "from": {"enabled": before.enabled, "threshold": before.threshold},
                "to": {"enabled": enabled, "threshold": threshold},
            }
        )
    if changes:
        audit.record(
            action="alert_rules.change",
            actor=actor,
            subject=organization,
            organization=organization.pk,
            details={"changes": changes},
            at=now,
        )
    return changes
