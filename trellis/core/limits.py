"""The size limit of a request body, answered as a clear 413 before the body is read.

Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (TRELLIS_MAX_REQUEST_BYTES) only
when a view or middleware reads it, and then with a bare 400 that does not say why. Here
the declared length is checked first, so the sender learns the limit, in the API's JSON,
a FHIR OperationOutcome or a plain page (trellis.core.problems). The whole body counts,
files included: the largest file Trellis takes (a referral CSV) is 1 MB, well inside it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from trellis.core.problems import problem_response


def declared_length(request: HttpRequest) -> int | None:
    """The body's length as the request declares it (None: none or not a number)."""
    raw = request.META.get("CONTENT_LENGTH") or ""
    try:
        return int(raw)
    except ValueError:
        return None


def too_large_message(limit: int) -> str:
    return _(
        "The request is too large: Trellis accepts at most %(limit)s bytes (%(kb)s kB) "
        "in one request."
    ) % {"limit": limit, "kb": limit // 1024}


class RequestSizeLimitMiddleware:
    """Answers 413 for a declared body over the limit, before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = declared_length(request)
        if limit is not None and length is not None and length > limit:
            return problem_response(request, 413, too_large_message(limit))
        return self.get_response(request)
