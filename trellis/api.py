"""The JSON API at /api/v1/: one NinjaAPI, one error shape, two ways to authenticate.

- The web app's session cookie (with CSRF on writes; staff must have finished MFA).
- `Authorization: Bearer trl_...` for integrations: a token scoped to one clinic,
  read-only or read-write; a read-only token gets 403 on any write.

Every 4xx body is `{"detail": "...", "errors": [{"field": "...", "message": "..."}]}`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from trellis.accounts.queries import usable_api_token
from trellis.accounts.services import note_token_use
from trellis.alerts.api import router as alerts_router
from trellis.appointments.api import router as sessions_router
from trellis.clinic.api import router as accounts_router
from trellis.clinic.audit_api import router as audit_router
from trellis.core import timeutil
from trellis.core.errors import Conflict, error_list
from trellis.insights.api import router as insights_router
from trellis.journey.api import router as journey_router
from trellis.measures.api import router as measures_router
from trellis.messaging.api import router as messaging_router
from trellis.nudges.api import router as notifications_router
from trellis.workspace.api import router as care_router

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionAuth(APIKeyCookie):
    """The signed-in web user; CSRF is checked on writes by ninja."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.is_active:
            return user
        return None


class TokenAuth(HttpBearer):
    """An integration's bearer token. Sets request.api_token; the caller is the clinic."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = usable_api_token(token)
        if api_token is None:
            raise AuthenticationError(message="Unknown or revoked API token.")
        if request.method not in SAFE_METHODS and not api_token.can_write:
            raise HttpError(403, _("This API token is read-only."))
        note_token_use(api_token, now=timeutil.now())
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token


api = NinjaAPI(
    title="Trellis API",
    version="1",
    description=(
        "JSON API of Trellis. Authenticate with the web session cookie or an integration "
        "token (`Authorization: Bearer ...`). Errors share one shape: "
        '`{"detail": "...", "errors": [{"field": "...", "message": "..."}]}`.'
    ),
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth(csrf=True)],
    docs_url=None,
)


def error_body(detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


def _field_name(loc: Any) -> str:
    parts = [
        str(p)
        for p in (loc or [])
        if p not in ("body", "query", "path", "payload", "header", "cookie")
    ]
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _field_name(e.get("loc")), "message": str(e.get("msg", "Invalid value."))}
        for e in exc.errors
    ]
    return api.create_response(request, error_body("The request is not valid.", errors), status=422)


@api.exception_handler(DjangoValidationError)
def _model_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    errors = error_list(exc)
    return api.create_response(request, error_body("The request is not valid.", errors), status=422)


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    errors = error_list(exc)
    body = error_body("The request conflicts with what exists.", errors)
    return api.create_response(request, body, status=409)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = (
        str(exc) if str(exc) and str(exc) != "Unauthorized" else "Sign in or send an API token."
    )
    return api.create_response(request, error_body(message), status=401)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body(str(exc.message)), status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("Not found."), status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, error_body(str(exc) or "You may not do this."), status=403)


def register_routers() -> None:
    """Each app contributes one router; imported here so the schema lists them all."""

    api.add_router("/", accounts_router)
    api.add_router("/audit", audit_router)
    api.add_router("/care", care_router)
    api.add_router("/alerts", alerts_router)
    api.add_router("/journey", journey_router)
    api.add_router("/measures", measures_router)
    api.add_router("/sessions", sessions_router)
    api.add_router("/messaging", messaging_router)
    api.add_router("/notifications", notifications_router)
    api.add_router("/insights", insights_router)


register_routers()
