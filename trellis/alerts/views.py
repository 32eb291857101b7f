"""Alert pages for clinic staff: the inbox, one alert, acknowledging it, and on-call duty.

Patients and researchers get 403 on every page; an alert or team outside a person's
reach (another clinic, a patient not on their caseload) is a 404.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trellis.accounts import guards
from trellis.accounts.models import Team
from trellis.alerts import queries, safety, services
from trellis.alerts.forms import (
    AcknowledgeForm,
    AlertFilterForm,
    DismissForm,
    GenericAcknowledgeForm,
    OnCallForm,
    ResolveForm,
    RuleSettingsForm,
)
from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.alerts.rule_settings import DEFAULTS, settings_table
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.core import timeutil

# The filtered list shows at most this many alerts (narrow the filters to see others).
FILTERED_LIMIT = 200

HISTORY_WORDS = {
    "safety.alert_raised": gettext_lazy("Alert raised and sent to the responsible clinician"),
    "alert.raised": gettext_lazy("Alert raised"),
    "safety.escalated": gettext_lazy("Escalated to a supervisor"),
    "safety.acknowledged": gettext_lazy("Acknowledged with a note of the action taken"),
    "alert.acknowledged": gettext_lazy("Acknowledged"),
    "safety.resolved": gettext_lazy("Resolved"),
    "safety.dismissed": gettext_lazy("Dismissed"),
    "alert.resolved": gettext_lazy("Resolved"),
    "alert.dismissed": gettext_lazy("Dismissed"),
    "alert.view": gettext_lazy("Opened"),
}


ALERTS_ONLY = gettext_lazy("Alerts are for the clinic's clinical staff.")


def escalation_status(alert: Alert, now: datetime) -> str:
    """How long before an open safety alert goes to a supervisor, in words."""
    if alert.kind != AlertKind.SAFETY or alert.escalate_after is None:
        return ""
    if alert.escalated_at is not None:
        who = alert.escalated_to.display_name if alert.escalated_to else _("nobody")
        return _("Escalated to %(name)s") % {"name": who}
    if alert.state != AlertState.OPEN:
        return ""
    minutes = math.ceil((alert.escalate_after - now).total_seconds() / 60)
    if minutes <= 0:
        return _("Going to a supervisor now")
    return ngettext(
        "%(n)d minute left before it goes to a supervisor",
        "%(n)d minutes left before it goes to a supervisor",
        minutes,
    ) % {"n": minutes}


def _rows(alerts: Any, now: datetime) -> list[dict[str, Any]]:
    return [{"alert": a, "escalation": escalation_status(a, now)} for a in alerts]


@never_cache
@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Open alerts that are mine to act on, urgent first; then every alert in my reach,
    filtered by kind, urgency, state and (for supervisors) supporter."""
    guards.require_role(request, queries.ALERT_ROLES, ALERTS_ONLY)
    now = timeutil.now()
    form = AlertFilterForm(request.GET or {"state": "open"}, user=request.user)
    valid = form.is_valid()
    filtered = (
        list(queries.filtered_alerts(request.user, form.filters())[:FILTERED_LIMIT])
        if valid
        else []
    )
    mine = list(queries.inbox_for(request.user))
    clinic_wide = list(queries.clinic_open_safety_alerts(request.user))
    shown = [*mine, *clinic_wide, *filtered]
    note_read(
        actor=request.user,
        what=Read.ALERTS,
        via="page",
        patients=[alert.enrollment.patient_id for alert in shown],
        details={"alerts": len({alert.pk for alert in shown})},
    )
    return render(
        request,
        "alerts/inbox.html",
        {
            "rows": _rows(mine, now),
            "clinic_rows": _rows(clinic_wide, now),
            "filter_form": form,
            "filtered_rows": _rows(filtered, now),
            "limit": FILTERED_LIMIT,
            "can_set_on_call": queries.on_call_orgs_for(request.user).exists(),
        },
        status=200 if valid else 400,
    )


def _history(alert: Alert) -> list[dict[str, Any]]:
    return [
        {
            "at": event.occurred_at,
            "what": HISTORY_WORDS.get(event.action, event.action),
            "who": event.actor_label or _("Trellis"),
        }
        for event in queries.alert_history(alert)
    ]


def _render_detail(
    request: HttpRequest,
    alert: Alert,
    form: Any = None,
    *,
    resolve_form: ResolveForm | None = None,
    dismiss_form: DismissForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timeutil.now()
    safety_kind = alert.kind == AlertKind.SAFETY
    if form is None:
        form = AcknowledgeForm() if safety_kind else GenericAcknowledgeForm()
    return render(
        request,
        "alerts/detail.html",
        {
            "alert": alert,
            "patient": alert.enrollment.patient,
            "escalation": escalation_status(alert, now),
            "history": _history(alert),
            "form": form,
            "resolve_form": resolve_form or ResolveForm(),
            "dismiss_form": dismiss_form or DismissForm(),
            "is_open": alert.state == AlertState.OPEN,
            "is_live": alert.state in (AlertState.OPEN, AlertState.ACKNOWLEDGED),
            "may_acknowledge": queries.may_handle(request.user, alert),
            "crisis_answer": safety_kind,
        },
        status=status,
    )


@never_cache
@require_GET
@login_required
def detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """One alert: the facts, the answer, who is responsible, and what happened since."""
    guards.require_role(request, queries.ALERT_ROLES, ALERTS_ONLY)
    alert = queries.access_alert(request.user, pk)
    note_read(
        actor=request.user,
        what=Read.ALERT,
        via="page",
        patient=alert.enrollment.patient_id,
        subject=alert,
        organization=alert.organization_id,
        details={"kind": alert.kind},
    )
    return _render_detail(request, alert)


def _may_handle_or_403(request: HttpRequest, alert: Alert) -> None:
    if not queries.may_handle(request.user, alert):
        raise PermissionDenied(
            _("Only the clinician it is assigned to, or a supervisor, can act on this alert.")
            if alert.kind == AlertKind.SAFETY
            else _("Only the patient's care team and supervisors can act on this alert.")
        )


@never_cache
@require_POST
@login_required
def acknowledge(request: HttpRequest, pk: Any) -> HttpResponse:
    """Acknowledge an alert (a safety alert with a note of the action taken)."""
    guards.require_role(request, queries.ALERT_ROLES, ALERTS_ONLY)
    alert = queries.access_alert(request.user, pk)
    _may_handle_or_403(request, alert)
    form: AcknowledgeForm | GenericAcknowledgeForm = (
        AcknowledgeForm(request.POST)
        if alert.kind == AlertKind.SAFETY
        else GenericAcknowledgeForm(request.POST)
    )
    # The page shown again with an error is the one the person just opened: not a new read.
    if not form.is_valid():
        return _render_detail(request, alert, form, status=400)
    try:
        services.acknowledge_alert(
            alert,
            actor=request.user,  # type: ignore[arg-type]
            note=form.cleaned_data["note"],
            now=timeutil.now(),
        )
    except safety.AlertNotOpen as error:
        form.add_service_errors(error)
        alert.refresh_from_db()
        return _render_detail(request, alert, form, status=409)
    except ValidationError as error:
        form.add_service_errors(error)
        return _render_detail(request, alert, form, status=400)
    messages.success(request, _("The alert is acknowledged. Thank you for following up."))
    return redirect("alerts:detail", pk=alert.pk)


def _close(request: HttpRequest, pk: Any, state: str) -> HttpResponse:
    guards.require_role(request, queries.ALERT_ROLES, ALERTS_ONLY)
    alert = queries.access_alert(request.user, pk)
    _may_handle_or_403(request, alert)
    form: ResolveForm | DismissForm = (
        DismissForm(request.POST) if state == AlertState.DISMISSED else ResolveForm(request.POST)
    )
    forms = {"dismiss_form" if state == AlertState.DISMISSED else "resolve_form": form}
    if not form.is_valid():
        return _render_detail(request, alert, status=400, **forms)  # type: ignore[arg-type]
    try:
        services.close_alert(
            alert,
            actor=request.user,  # type: ignore[arg-type]
            state=state,
            note=form.cleaned_data.get("note", ""),
            reason=form.cleaned_data.get("reason", ""),
            now=timeutil.now(),
        )
    except safety.AlertNotOpen as error:
        form.add_service_errors(error)
        alert.refresh_from_db()
        return _render_detail(request, alert, status=409, **forms)  # type: ignore[arg-type]
    except ValidationError as error:
        form.add_service_errors(error)
        return _render_detail(request, alert, status=400, **forms)  # type: ignore[arg-type]
    messages.success(
        request,
        _("The alert is resolved.")
        if state == AlertState.RESOLVED
        else _("The alert is dismissed. Your reason is kept to improve the alert rules."),
    )
    return redirect("alerts:detail", pk=alert.pk)


@never_cache
@require_POST
@login_required
def resolve(request: HttpRequest, pk: Any) -> HttpResponse:
    """Close an alert as resolved: the need behind it was met."""
    return _close(request, pk, AlertState.RESOLVED)


@never_cache
@require_POST
@login_required
def dismiss(request: HttpRequest, pk: Any) -> HttpResponse:
    """Close an alert as not needed, with the reason why."""
    return _close(request, pk, AlertState.DISMISSED)


# Rule settings ----------------------------------------------------------------------


@never_cache
@login_required
def rule_settings(request: HttpRequest) -> HttpResponse:
    """Which alert rules are on at the clinic, and their thresholds, per level of support."""

    orgs = queries.on_call_orgs_for(request.user).order_by("name")
    organization = orgs.first()
    if organization is None:
        raise PermissionDenied(_("Only clinic admins and supervisors can change alert rules."))
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    table = settings_table(organization.pk)
    form = RuleSettingsForm(request.POST or None, table=table)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.save_rule_settings(
                    organization,
                    values=form.values(),
                    actor=request.user,  # type: ignore[arg-type]
                    now=timeutil.now(),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, _("The alert rules are saved."))
                return redirect("alerts:rules")
        status = 400
    return render(
        request,
        "alerts/rules.html",
        {
            "organization": organization,
            "form": form,
            "rows": form.bound_rows(),
            "rules": list(DEFAULTS.values()),
        },
        status=status,
    )


# On-call duty ---------------------------------------------------------------------


def _on_call_teams(request: HttpRequest) -> list[Team]:
    if not queries.on_call_orgs_for(request.user).exists():
        raise PermissionDenied(_("Only clinic admins and supervisors can choose on-call duty."))
    return list(queries.on_call_teams_for(request.user))


def _render_on_call(
    request: HttpRequest,
    teams: list[Team],
    *,
    bound: OnCallForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = []
    for team in teams:
        form = (
            bound
            if bound is not None and bound.prefix == f"team-{team.pk}"
            else OnCallForm(team=team, initial={"clinician": team.on_call_clinician_id})
        )
        rows.append({"team": team, "form": form, "on_call": queries.on_call_of(team)})
    return render(
        request,
        "alerts/on_call.html",
        {"rows": rows, "gaps": queries.safety_setup_gaps(queries.on_call_orgs_for(request.user))},
        status=status,
    )


@never_cache
@require_GET
@login_required
def on_call(request: HttpRequest) -> HttpResponse:
    """Each team's on-call clinician, who takes safety alerts when no therapist is assigned."""
    return _render_on_call(request, _on_call_teams(request))


@never_cache
@require_POST
@login_required
def on_call_team(request: HttpRequest, pk: Any) -> HttpResponse:
    """Choose one team's on-call clinician."""
    teams = _on_call_teams(request)
    team = queries.access_on_call_team(request.user, pk)
    form = OnCallForm(request.POST, team=team)
    if form.is_valid():
        try:
            services.set_on_call_clinician(
                team,
                clinician=form.cleaned_data["clinician"],
                actor=request.user,  # type: ignore[arg-type]
                now=timeutil.now(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("The on-call clinician of %(team)s is saved.") % {"team": team.name},
            )
            return redirect("alerts:on_call")
    return _render_on_call(request, teams, bound=form, status=400)
