"""Every request gets an id, every log line of the request carries it, and one access line
says how the request went.

The id is the caller's `X-Request-ID` when it is a sane token (a proxy or load balancer in
front usually sets one, so its logs and Trellis's can be joined), otherwise a new one. It
is sent back in the `X-Request-ID` header and bound with structlog's context variables, so
the JSON log formatter (settings.LOGGING) adds `request_id` to every line logged while the
request runs, Django's own included.

The access line (logger `trellis.access`) names the method, the route (the URL pattern's
name, never the path: a path can carry an identifier, a query string can carry anything),
the status, the duration and the id. The same figures feed the latency histogram
(trellis.core.metrics).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from trellis.core import metrics

HEADER = "X-Request-ID"
# Letters, digits and - _ . : only, 8 to 128 of them: a UUID, a ULID, a proxy's hex id.
SANE_ID = re.compile(r"[A-Za-z0-9_.:-]{8,128}")
UNMATCHED = "unmatched"  # the route of an address no URL pattern matches

access_logger = logging.getLogger("trellis.access")


def request_id_from(header: str | None) -> str:
    """The caller's id if it is a sane token, else a new one."""
    if header and SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def route_name(request: HttpRequest) -> str:
    """The name of the URL pattern that answered (or would answer) this request."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNMATCHED
    return match.view_name or match.route or UNMATCHED


class RequestIdMiddleware:
    """First in MIDDLEWARE: it times the whole answer, load shedding and limits included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        # Bound until the next request on this thread starts, or the answer is closed
        # (clear_request_context): Django logs a 4xx or 5xx after the middleware returns.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        elapsed = time.perf_counter() - started
        route = route_name(request)
        method = metrics.method_label(request.method)
        metrics.observe_request(
            route=route, method=method, status=response.status_code, seconds=elapsed
        )
        duration_ms = round(elapsed * 1000, 1)
        access_logger.info(
            "%s %s %s %sms",
            method,
            route,
            response.status_code,
            duration_ms,
            extra={
                "method": method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response


def clear_request_context(sender: object, **kwargs: object) -> None:
    """request_finished receiver: the request's id leaves the thread with its answer."""
    structlog.contextvars.clear_contextvars()
