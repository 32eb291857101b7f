"""The clinic admin's referrals page (docs/referrals.md): recent referrals, the clinic's
referral settings, and uploading a file of referrals. A file is imported whole or not at
all: every problem is listed with its line and column, and nothing is written."""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trellis.accounts import queries as account_queries
from trellis.accounts.guards import require_role
from trellis.accounts.models import Organization, Role, User
from trellis.accounts.queries import Capability
from trellis.core import timeutil
from trellis.interop.models import ReferralOutcome, ReferralSource
from trellis.interop.referrals.csvfile import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    MAX_SHOWN,
    FileRejected,
    LineProblem,
    parse_csv,
)
from trellis.interop.referrals.forms import ReferralSettingsForm, UploadForm
from trellis.interop.referrals.incoming import masked
from trellis.interop.referrals.queries import recent_referrals
from trellis.interop.referrals.services import (
    ReferralsRefused,
    receive_referrals,
    save_referral_settings,
    settings_of,
)

_ONLY_ADMINS = gettext_lazy("Only clinic admins can manage referrals.")


def _clinic(request: HttpRequest) -> tuple[User, Organization]:
    user = require_role(request, (Role.ADMIN,), _ONLY_ADMINS)
    org = (
        account_queries.organizations_with(user, Capability.MANAGE_PEOPLE).order_by("name").first()
    )
    if org is None:
        raise PermissionDenied(_ONLY_ADMINS)
    return user, org


def _settings_form(org: Organization, data: Any = None) -> ReferralSettingsForm:
    found = settings_of(org)
    initial = (
        {
            "inviter": found.inviter_id,
            "default_program": found.default_program_id,
            "default_support_level": found.default_support_level,
        }
        if found
        else {}
    )
    return ReferralSettingsForm(data, initial=initial, organization=org)


def _page(
    request: HttpRequest,
    org: Organization,
    *,
    upload_form: UploadForm | None = None,
    settings_form: ReferralSettingsForm | None = None,
    problems: list[LineProblem] | None = None,
    status: int = 200,
) -> HttpResponse:
    problems = problems or []
    return render(
        request,
        "interop/referrals/page.html",
        {
            "clinic": org,
            "upload_form": upload_form or UploadForm(),
            "settings_form": settings_form or _settings_form(org),
            "problems": problems[:MAX_SHOWN],
            "more_problems": max(0, len(problems) - MAX_SHOWN),
            "lines": recent_referrals(org, timeutil.now()),
            "columns": COLUMNS,
            "max_kb": MAX_BYTES // 1000,
            "max_rows": MAX_ROWS,
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def referrals_page(request: HttpRequest) -> HttpResponse:
    """Recent referrals (who sent them, when, the masked identifier, what became of them),
    the upload form and the clinic's referral settings. Names no patient."""
    _user, org = _clinic(request)
    return _page(request, org)


@never_cache
@login_required
@require_POST
def upload_referrals(request: HttpRequest) -> HttpResponse:
    """Import a CSV file of referrals, all or nothing; 400 with every problem otherwise."""
    user, org = _clinic(request)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, org, upload_form=form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_BYTES:
        message = _("The file is larger than %(limit)s kB; split it into smaller files.") % {
            "limit": MAX_BYTES // 1000
        }
        return _page(request, org, problems=[LineProblem(0, "", message)], status=400)
    try:
        incoming = parse_csv(upload.read(MAX_BYTES + 1))
        results = receive_referrals(
            organization=org,
            incoming=incoming,
            source=ReferralSource.CSV,
            uploaded_by=user,
            now=timeutil.now(),
        )
    except FileRejected as rejected:
        return _page(request, org, problems=rejected.problems, status=400)
    except ReferralsRefused as refused:
        problems = [
            LineProblem((r.referral.line or 0) if r.referral else 0, r.field, r.message)
            for r in refused.refusals
        ]
        return _page(request, org, problems=problems, status=400)
    counts = Counter(r.outcome for r in results)
    return render(
        request,
        "interop/referrals/results.html",
        {
            "clinic": org,
            "file_name": upload.name,
            "results": [(r, masked(r.incoming.identifier_value)) for r in results],
            "summary": [(label, counts.get(value, 0)) for value, label in ReferralOutcome.choices],
            "total": len(results),
        },
    )


@never_cache
@login_required
@require_POST
def referral_settings(request: HttpRequest) -> HttpResponse:
    """Save who invites referred patients, and the default program and level."""
    user, org = _clinic(request)
    form = _settings_form(org, request.POST)
    if form.is_valid():
        try:
            save_referral_settings(
                organization=org,
                inviter=form.cleaned_data["inviter"],
                default_program=form.cleaned_data["default_program"],
                default_support_level=form.cleaned_data["default_support_level"],
                actor=cast(User, user),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The referral settings were saved."))
            return redirect("referrals:page")
    return _page(request, org, settings_form=form, status=400)
