"""HTTP headers Django does not set by itself, Trellis's own error pages in every mode, and
a clear 503 when the database is out of reach."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, get_urlconf, resolve
from django.utils.log import log_response
from django.utils.translation import gettext as _

from trellis.core import dbpool, metrics
from trellis.core.problems import problem_response

request_logger = logging.getLogger("django.request")
availability_logger = logging.getLogger("trellis.availability")


class SecurityHeadersMiddleware:
    """Adds Permissions-Policy, and keeps pages with patient data out of shared caches."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.TRELLIS_PERMISSIONS_POLICY)
        if not request.path.startswith(settings.STATIC_URL):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


class FriendlyErrorPagesMiddleware:
    """Trellis's own 404, 400 and 500 pages also when DEBUG is on.

    With DEBUG on, Django answers an unknown address with a page listing every URL of the
    site and a crash with the code, the settings and the stack; the demo runs that way.
    Here those answers become the pages of handler404/handler400/handler500 in
    trellis.urls, as with DEBUG off. The stack trace still goes to the log (the console in
    the demo), and the test client still re-raises the exception as it does without this.
    With DEBUG off this does nothing: Django calls the same handlers itself.

    It stands after CommonMiddleware, so a missing trailing slash is still a redirect.
    (A 404 or crash raised by a middleware before this one keeps Django's own answer.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as exception:
                return _not_found(request, exception)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG or isinstance(exception, PermissionDenied):
            return None  # Django itself shows handler403 in every mode
        if isinstance(exception, Http404):
            return _not_found(request, exception)
        if isinstance(exception, (BadRequest, SuspiciousOperation)):
            return _handler(400)(request, exception)
        signals.got_request_exception.send(sender=None, request=request)
        request_logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return _handler(500)(request)


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    response = _handler(404)(request, exception)
    log_response("Not Found: %s", request.path, response=response, request=request)
    return response


def _handler(status: int) -> Callable[..., HttpResponse]:
    return get_resolver(get_urlconf()).resolve_error_handler(status)


# Errors that mean the database cannot be used right now: it is down or restarting, the
# connection dropped, the pool has no connection to give. Django raises both for psycopg's
# and SQLite's errors of these kinds (a deadlock or a busy SQLite file too: also worth a
# retry).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5
_EXCEPTION_ATTRIBUTE = "_trellis_uncaught_exception"


def remember_uncaught_exception(
    sender: object, request: HttpRequest | None = None, **kwargs: object
) -> None:
    """got_request_exception receiver: keep the exception Django turned into a 500, so
    DatabaseUnavailableMiddleware can tell a database outage from any other crash."""
    if request is not None:
        setattr(request, _EXCEPTION_ATTRIBUTE, sys.exc_info()[1])


class DatabaseUnavailableMiddleware:
    """A database out of reach answers 503 with `Retry-After` and a clear message, never a 500.

    It stands before every middleware that can touch the database (the session, the signed
    in person), so it sees an outage wherever it surfaces: raised to it directly, or already
    turned into a 500 by Django (remembered by `remember_uncaught_exception`). The answer
    reads nothing from the database. Django opens a new connection for the next request, or,
    with psycopg's pool, the pool is renewed as soon as the database answers again
    (trellis.core.dbpool), so service comes back by itself without a restart.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            response = self.get_response(request)
        except DATABASE_UNAVAILABLE as exc:
            return _database_unavailable(request, exc)
        exception = getattr(request, _EXCEPTION_ATTRIBUTE, None)
        if response.status_code >= 500 and isinstance(exception, DATABASE_UNAVAILABLE):
            return _database_unavailable(request, exception)
        return response


def _database_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    availability_logger.warning("database unavailable: %s", type(exc).__name__)
    metrics.REQUESTS_DB_UNAVAILABLE.inc()
    # With psycopg's pool, watch for the database and renew the pool the moment it is back.
    dbpool.watch_for_return()
    return problem_response(
        request,
        503,
        _(
            "Trellis cannot reach its database right now. Nothing was changed. "
            "Please try again in a few seconds."
        ),
        retry_after=DATABASE_RETRY_AFTER_SECONDS,
    )
