"""How the clinic's reminders fare: delivery and failure rates per channel and per template.

For the clinic's admins (the people who set the reminder rules and the caps). Counts only:
the page names no patient, so it is not a read of patient data.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from trellis.accounts import queries
from trellis.accounts.queries import Capability
from trellis.core import timeutil
from trellis.nudges.reports import WINDOWS, delivery_rates


@never_cache
@login_required
@require_GET
def delivery_rates_page(request: HttpRequest) -> HttpResponse:
    """Per channel and per template over the last 7 or 30 days (`?days=`): queued, sent,
    delivered, failed, not sent by reason, opened; both windows' totals at the top."""
    org = (
        queries.organizations_with(request.user, Capability.MANAGE_SETTINGS)
        .order_by("name")
        .first()
    )
    if org is None:
        raise PermissionDenied(_("Only clinic admins can see the clinic's delivery rates."))
    raw = request.GET.get("days", str(min(WINDOWS)))
    if raw not in {str(days) for days in WINDOWS}:
        return render(
            request,
            "clinic/delivery_rates_error.html",
            {"clinic": org, "windows": WINDOWS, "given": raw[:20]},
            status=400,
        )
    days = int(raw)
    rates = delivery_rates(org, now=timeutil.now())
    return render(
        request,
        "clinic/delivery_rates.html",
        {
            "clinic": org,
            "rates": rates,
            "days": days,
            "windows": WINDOWS,
            "summary": [(d, rates.totals[d]) for d in WINDOWS],
            "channels": [(line, line.windows[days]) for line in rates.channels],
            "templates": [(line, line.windows[days]) for line in rates.templates],
            "reasons": [(line, line.counts[days]) for line in rates.reasons if line.counts[days]],
        },
    )
