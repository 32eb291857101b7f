"""Pages that belong to no clinic app: health, liveness, readiness, metrics and the favicon.
(The error pages are in trellis.clinic.views.errors: their way back depends on who asks.)"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from trellis.core import health, metrics, timeutil


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


@require_GET
def livez(request: HttpRequest) -> HttpResponse:
    """Liveness: this process answers. It reads nothing, the database included, so a
    supervisor restarts a process that hangs, not one whose database is down."""
    response = JsonResponse({"status": "ok"})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when the database and the task queue answer, 503 naming the part that
    does not, so a load balancer sends people elsewhere until it does."""
    now = timeutil.now()
    parts = {
        "database": health.database_status(connection)["status"],
        "task_queue": health.task_queue_status(connection, now=now)["status"],
    }
    ready = all(state == "ok" for state in parts.values())
    response = JsonResponse({"status": "ok" if ready else "unavailable", **parts})
    response.status_code = 200 if ready else 503
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, only for a scraper with `Authorization: Bearer
    <TRELLIS_METRICS_TOKEN>`. Without the setting the address does not exist (404), so
    metrics are never open to the internet by default; a wrong or missing token is 403."""
    token: str = settings.TRELLIS_METRICS_TOKEN
    if not token:
        raise Http404
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        return HttpResponseForbidden(
            "A valid metrics token is required.\n", content_type="text/plain"
        )
    body, content_type = metrics.exposition(now=timeutil.now())
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
