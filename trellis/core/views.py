"""Pages that belong to no clinic app: the health check and the favicon. (The error pages
are in trellis.clinic.views.errors: their way back depends on who asks.)"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from trellis.core import health, timeutil


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
