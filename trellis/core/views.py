"""Error pages that say what happened in plain words, in HTML or the API's JSON shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from trellis.core import health, timeutil


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "errors": []}, status=status)
    return render(request, "errors/error.html", {"title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 400, "That request could not be understood", "Please go back and try again."
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = (
        str(exception) if exception and str(exception) else "You do not have access to this page."
    )
    return _error(request, 403, "Not allowed", message)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 404, "Page not found", "This page does not exist, or you do not have access to it."
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        500,
        "Something went wrong",
        "The problem has been logged. Please try again shortly.",
    )


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and monitoring: 200 when the database and task queue answer,
    503 when either does not. No sign-in, and nothing about any person."""
    body, healthy = health.report(now=timeutil.now())
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on their own: send them to the SVG icon. The address is
    looked up per request, so a missing static manifest breaks only this, never the URLs."""
    return HttpResponsePermanentRedirect(static("trellis/icons/favicon.svg"))
