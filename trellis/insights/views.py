"""The clinic's dropout-risk page: its model and card, or why there is none; the checks.

Mounted at clinic/insights/ (namespace "insights").
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from trellis.accounts.guards import require_role
from trellis.care.models import SupportLevel
from trellis.insights import charts, queries, scoring
from trellis.insights.models import RiskCheck, RiskModel
from trellis.insights.risk import card, learn


def _group_name(name: str) -> str:
    names = {"age band": _("Age band"), "sex": _("Sex"), "support level": _("Level of support")}
    return str(names.get(name, name))


def _group_value(name: str, value: str) -> str:
    if name == "support level" and value in SupportLevel.values:
        return str(SupportLevel(value).label)
    if name == "sex":
        return str({"female": _("Female"), "male": _("Male")}.get(value, value))
    return value


@never_cache
@login_required
def model(request: HttpRequest) -> HttpResponse:
    """The model card of the clinic's active model, or why Trellis uses its rules."""
    message = _("This page is for a clinic's clinicians and administrators.")
    user = require_role(request, queries.MODEL_READERS, message)
    clinic = queries.clinics_for_model_page(user).first()
    if clinic is None:
        raise PermissionDenied(message)
    installed = scoring.active_model(clinic)
    the_card = installed.card if installed else {}
    test = the_card.get("test") or {}
    low, high = test.get("auc_95") or [None, None]
    return render(
        request,
        "insights/model.html",
        {
            "clinic": clinic,
            "installed": installed,
            "card": the_card,
            "data": the_card.get("data") or {},
            "kind": card.KINDS.get(installed.kind, installed.kind) if installed else "",
            "auc": card.num(test.get("auc")),
            "auc_low": card.num(low),
            "auc_high": card.num(high),
            "ece": card.num(test.get("ece")),
            "rate": card.pct((the_card.get("data") or {}).get("dropped_rate")),
            "by_day": [
                {
                    "day": day,
                    "count": row["count"],
                    "rate": card.pct(row.get("rate")),
                    "auc": card.num(row.get("auc")),
                    "interval": " to ".join(
                        card.num(v) for v in (row.get("auc_95") or [None, None])
                    ),
                    "ece": card.num(row.get("ece")),
                }
                for day, row in sorted(
                    ((int(d), r) for d, r in (the_card.get("test_by_day") or {}).items())
                )
            ],
            "calibration": [
                {
                    "predicted": card.pct(row["predicted"]),
                    "observed": card.pct(row["observed"]),
                    "count": row["count"],
                }
                for row in test.get("calibration") or []
            ],
            "calibration_chart": charts.calibration(test.get("calibration") or []),
            "subgroups": [
                {
                    "name": _group_name(name),
                    "group": _group_value(name, row["group"]),
                    "count": row["count"],
                    "rate": card.pct(row.get("rate")),
                    "auc": card.num(row.get("auc")),
                }
                for name, rows in (the_card.get("subgroups") or {}).items()
                for row in rows
            ],
            "past": scoring.past_enrollments(clinic),
            "needed": learn.MIN_ENROLLMENTS,
            "checks": RiskCheck.objects.filter(organization=clinic)[:12],
            "min_checked": scoring.MIN_CHECKED,
            "evaluations": [
                {
                    "when": evaluation.get("evaluated_at", "")[:10],
                    "enrollments": evaluation.get("enrollments"),
                    "rows": [
                        {
                            "day": day,
                            "count": row.get("count"),
                            "auc": card.num(row.get("auc")),
                            "ece": card.num(row.get("ece")),
                            "oracle_auc": card.num(row.get("oracle_auc")),
                            "oracle_ece": card.num(row.get("oracle_ece")),
                        }
                        for day, row in (evaluation.get("days") or {}).items()
                    ],
                }
                for evaluation in the_card.get("evaluations") or []
            ],
            "earlier": RiskModel.objects.filter(organization=clinic, active=False).order_by(
                "-installed_at"
            )[:5],
            "settings": scoring.settings_of(clinic),
        },
    )
