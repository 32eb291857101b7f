"""The pages a person meets when something is not there or goes wrong (400, 403, 404, 500,
and a form whose CSRF token no longer holds).

Calm, in the site's layout, in plain words, and always with a way back: Today for a
patient in a program, the caseload for a clinician, the start page for other staff, the
sign-in page for someone not signed in. Never a list of addresses or a stack trace, in
any mode (trellis.core.middleware.FriendlyErrorPagesMiddleware shows these pages when
DEBUG is on too; docs/operations.md). Under /api/ the answer is the API's JSON error body.

The 500 page asks as little as it can of a system that has just failed: if working out
the way back or drawing the layout fails too, it falls back to a short page of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

from trellis.accounts import queries
from trellis.accounts.models import CLINICAL_ROLES, Role
from trellis.care.queries import current_enrollment

logger = logging.getLogger(__name__)

TEMPLATE = "errors/error.html"


def way_back(request: HttpRequest) -> dict[str, str]:
    """Where this person most likely wants to go from here, as `url` and `label`."""
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"url": reverse("accounts:login"), "label": _("Sign in")}
    roles = set(queries.active_memberships(user).values_list("role", flat=True))
    if roles == {Role.PATIENT} and current_enrollment(user) is not None:
        return {"url": reverse("journey:today"), "label": _("Go to Today")}
    if roles & CLINICAL_ROLES:
        return {"url": reverse("caseload:list"), "label": _("Go to your caseload")}
    return {"url": reverse("clinic:home"), "label": _("Go to the start page")}


def _page(
    request: HttpRequest, status: int, title: str, message: str, *, detail: str = ""
) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "errors": []}, status=status)
    context = {
        "status": status,
        "title": title,
        "message": message,
        "detail": detail,
        "way_back": way_back(request),
    }
    return render(request, TEMPLATE, context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        400,
        _("That request could not be understood"),
        _("Something in the request was not as expected. Please go back and try again."),
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # A refusal's own message (raise PermissionDenied(_("..."))) says why, in the page's words.
    reason = str(exception) if exception is not None and str(exception) else ""
    return _page(
        request,
        403,
        _("This page is not for you"),
        reason or _("You do not have access to this page."),
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its valid CSRF token: most often a page left open past a sign-out
    or a new sign-in in another tab. (Django's own page explains CSRF to developers.)"""
    return _page(
        request,
        403,
        _("This form has expired"),
        _(
            "The page was open for a long time, or you signed in or out in another tab. "
            "Nothing was saved. Go back, reload the page and try again."
        ),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        404,
        _("We could not find that page"),
        _("This page does not exist, or you do not have access to it."),
        detail=_("The link may be old or mistyped. Nothing you saved is lost."),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    title = _("Something went wrong on our side")
    message = _(
        "It was not something you did. The problem has been noted; please try again in a moment."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "errors": []}, status=500)
    try:
        return _page(request, 500, title, message)
    except Exception:
        # The layout needs the database (the menu, the way back); when that is what broke,
        # a short page still answers.
        logger.exception("The 500 page could not be drawn in the site layout")
    way_back = _("Go to the start page")
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Trellis</title></head><body><main>"
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
        f'<p><a href="/">{escape(way_back)}</a></p></main></body></html>'
    )
    return HttpResponse(body, status=500)
