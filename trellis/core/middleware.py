"""HTTP headers Django does not set by itself, and Trellis's own error pages in every mode."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, get_urlconf, resolve
from django.utils.log import log_response

request_logger = logging.getLogger("django.request")


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
