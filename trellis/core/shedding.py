"""Load shedding: a process already working on as many requests as it should answers the
next one at once with 503 and `Retry-After`, instead of letting it wait in a queue until
the client or the proxy gives up.

`trellis serve` gives each process `--threads` threads for work plus as many again that
only ever answer 503 here (serve.py), and sets TRELLIS_MAX_IN_FLIGHT to `--threads` when it
is not set: so at most `--threads` requests do work at once, and the spare threads turn the
rest away quickly. The health and metrics endpoints are never shed: a load balancer and
monitoring must see a busy server, not a silent one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from trellis.core import metrics
from trellis.core.problems import problem_response

NEVER_SHED = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})
RETRY_AFTER_SECONDS = 1


class InFlight:
    """How many requests this process is answering now; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def enter(self, limit: int) -> bool:
        """Count one more request, unless `limit` are already in flight (then False)."""
        with self._lock:
            if self.count >= limit:
                return False
            self.count += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.count -= 1


class LoadSheddingMiddleware:
    """Near the top of MIDDLEWARE (after the request id): a shed request costs almost nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.in_flight = InFlight()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.TRELLIS_MAX_IN_FLIGHT
        if limit <= 0 or request.path_info in NEVER_SHED:
            return self.get_response(request)
        if not self.in_flight.enter(limit):
            metrics.REQUESTS_SHED.inc()
            return problem_response(
                request,
                503,
                _("Trellis is busy right now. Please try again in a moment."),
                retry_after=RETRY_AFTER_SECONDS,
            )
        try:
            return self.get_response(request)
        finally:
            self.in_flight.leave()
