"""The clinic's reminder settings, for its admins: the outreach limits (allowed hours,
caps), every reminder rule (clinic-wide and per program), and the trial data download.

Mounted at clinic/reminders/ (namespace "reminders"). Each page asks the role guard for
a clinic admin, then one rules service; every change is audited by the service, a refused
change comes back as 400 with the reason next to the field.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from trellis.accounts.guards import require_role
from trellis.accounts.models import Organization, Role, User
from trellis.accounts.queries import Capability, organizations_with
from trellis.core import timeutil
from trellis.nudges import rules, trials
from trellis.nudges.forms import OutreachSettingsForm, ProgramRuleForm, RuleForm
from trellis.nudges.models import DecisionPoint, ReminderRule, RuleKind
from trellis.programs.models import Program


def _clinic(request: HttpRequest) -> tuple[User, Organization]:
    """The signed-in clinic admin and their clinic (the first by name), or 403."""
    user = require_role(request, (Role.ADMIN,), _("Only clinic admins can change reminders."))
    org = organizations_with(user, Capability.MANAGE_SETTINGS).order_by("name").first()
    if org is None:
        raise PermissionDenied(_("Only clinic admins can change reminders."))
    return user, org


def _programs() -> list[tuple[str, str]]:
    return list(Program.objects.order_by("title").values_list("slug", "title"))


def _rule_rows(org: Organization) -> list[dict[str, Any]]:
    programs = dict(_programs())
    counted = dict(
        DecisionPoint.objects.filter(rule__organization=org)
        .values("rule_id")
        .annotate(n=Count("pk"))
        .values_list("rule_id", "n")
    )
    order = {kind: n for n, kind in enumerate(RuleKind.values)}
    found = ReminderRule.objects.filter(organization=org)
    rows = []
    for rule in sorted(found, key=lambda r: (order.get(r.kind, 99), r.program_key)):
        rows.append(
            {
                "rule": rule,
                "label": RuleKind(rule.kind).label,
                "program": programs.get(rule.program_key, rule.program_key)
                if rule.program_key
                else "",
                "trial": rule.send_probability < 1,
                "percent": int(rule.send_probability * 100),
                "decisions": counted.get(rule.pk, 0),
            }
        )
    return rows


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def overview(request: HttpRequest) -> HttpResponse:
    """The outreach limits (a form) and the list of reminder rules."""
    user, org = _clinic(request)
    rules.ensure_default_rules(org)
    current = rules.outreach_settings(org)
    initial = {name: getattr(current, name) for name in rules.OUTREACH_FIELDS}
    form = OutreachSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            rules.save_outreach_settings(organization=org, actor=user, values=form.cleaned_data)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The outreach settings were saved."))
            return redirect("reminders:overview")
    status = 400 if form.is_bound and form.errors else 200
    context = {
        "clinic": org,
        "form": form,
        "rows": _rule_rows(org),
        "program_form": ProgramRuleForm(programs=_programs()),
    }
    return render(request, "nudges/reminder_settings.html", context, status=status)


def _rule(org: Organization, pk: UUID) -> ReminderRule:
    found = ReminderRule.objects.filter(organization=org, pk=pk).first()
    if found is None:
        raise Http404(_("No such reminder rule."))
    return found


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def edit_rule(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One rule: when it sends, its window, channels and probability (a trial)."""
    user, org = _clinic(request)
    rule = _rule(org, pk)
    form = RuleForm(request.POST or None, kind=rule.kind, initial=RuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        try:
            rules.save_rule(
                organization=org,
                actor=user,
                kind=rule.kind,
                program_key=rule.program_key,
                values=form.values(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The reminder rule was saved."))
            return redirect("reminders:overview")
    status = 400 if form.is_bound and form.errors else 200
    context = {
        "clinic": org,
        "rule": rule,
        "label": RuleKind(rule.kind).label,
        "program": dict(_programs()).get(rule.program_key, rule.program_key),
        "limits": rules.outreach_settings(org),
        "form": form,
    }
    return render(request, "nudges/reminder_rule.html", context, status=status)


@login_required
@require_POST
def add_program_rule(request: HttpRequest) -> HttpResponse:
    """A rule for one program, starting as a copy of the clinic-wide one."""
    user, org = _clinic(request)
    rules.ensure_default_rules(org)
    form = ProgramRuleForm(request.POST, programs=_programs())
    if form.is_valid():
        kind, key = form.cleaned_data["kind"], form.cleaned_data["program_key"]
        existing = ReminderRule.objects.filter(organization=org, kind=kind, program_key=key)
        found = existing.first()
        if found is None:
            try:
                found = rules.save_rule(
                    organization=org, actor=user, kind=kind, program_key=key, values={}
                )
            except ValidationError as error:
                form.add_service_errors(error)
        if found is not None:
            return redirect("reminders:rule", pk=found.pk)
    context = {
        "clinic": org,
        "form": OutreachSettingsForm(
            initial={
                name: getattr(rules.outreach_settings(org), name) for name in rules.OUTREACH_FIELDS
            }
        ),
        "rows": _rule_rows(org),
        "program_form": form,
    }
    return render(request, "nudges/reminder_settings.html", context, status=400)


@login_required
@require_POST
def remove_program_rule(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The program follows the clinic-wide rule again."""
    user, org = _clinic(request)
    rule = _rule(org, pk)
    try:
        rules.delete_program_rule(rule=rule, actor=user)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
    messages.success(request, _("The program now follows the clinic-wide rule."))
    return redirect("reminders:overview")


@never_cache
@login_required
@require_http_methods(["GET"])
def export_decisions(request: HttpRequest) -> StreamingHttpResponse:
    """Every decision point of the clinic as CSV, for analysing a trial (audited)."""
    user, org = _clinic(request)
    count = DecisionPoint.objects.filter(enrollment__organization=org).count()
    trials.record_export(org, actor=user, fmt="csv", count=count)
    stamp = timeutil.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(trials.csv_lines(org), content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="decision-points-{org.slug}-{stamp}.csv"'
    )
    return response
