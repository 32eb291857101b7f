"""Session lifetime and the MFA requirement for staff, enforced on every request."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext

from trellis import audit
from trellis.accounts.mfa import has_confirmed_device
from trellis.accounts.queries import is_staff

LAST_SEEN = "trellis_last_seen"
LOGIN_AT = "trellis_login_at"
IS_STAFF = "trellis_is_staff"
# Why the last session ended, for the sign-in page to explain (set after logout).
SIGNED_OUT_REASON = "trellis_signed_out_reason"
# Refreshing the idle clock at most this often keeps session writes rare.
TOUCH_EVERY_SECONDS = 30


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/fhir/")


def staff_flag(request: HttpRequest) -> bool:
    """Whether the signed-in person holds a staff role (cached in the session)."""
    if IS_STAFF not in request.session:
        request.session[IS_STAFF] = is_staff(request.user)
    return bool(request.session[IS_STAFF])


class SessionTimeoutMiddleware:
    """Signs people out after idle time (staff 15 min, patients 30 min by default) and
    after an absolute lifetime, whatever their activity."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not getattr(request, "api_token", None):
            now = time.time()
            session = request.session
            login_at = session.setdefault(LOGIN_AT, now)
            last_seen = session.get(LAST_SEEN, now)
            idle_limit = (
                settings.TRELLIS_STAFF_IDLE_SECONDS
                if staff_flag(request)
                else settings.TRELLIS_PATIENT_IDLE_SECONDS
            )
            reason: dict[str, object] = {}
            if now - last_seen > idle_limit:
                reason = {"kind": "idle", "minutes": int(idle_limit) // 60}
            elif now - login_at > settings.TRELLIS_SESSION_ABSOLUTE_SECONDS:
                reason = {"kind": "absolute"}
            if reason:
                return self._expire(request, reason)
            if now - last_seen >= TOUCH_EVERY_SECONDS or LAST_SEEN not in session:
                session[LAST_SEEN] = now
        return self.get_response(request)

    def _expire(self, request: HttpRequest, reason: dict[str, object]) -> HttpResponse:

        audit.record(
            action="auth.session_expired",
            actor=request.user,
            subject=request.user,
            details=reason,
        )
        logout(request)
        if _is_api(request):
            detail = (
                gettext("Your session timed out. Please sign in again.")
                if reason["kind"] == "idle"
                else gettext("Your session reached its maximum length. Please sign in again.")
            )
            return JsonResponse({"detail": detail, "errors": []}, status=401)
        # The message framework has not run yet at this point in the stack, so the
        # reason travels in the fresh session and the sign-in page words it.
        request.session[SIGNED_OUT_REASON] = reason
        login_url = reverse(settings.LOGIN_URL)
        return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")


# Paths a signed-in person who still owes an MFA step may reach.
MFA_EXEMPT_PREFIXES = ("/accounts/mfa/", "/accounts/logout/", "/static/", "/healthz")


class MfaRequiredMiddleware:
    """Staff must finish TOTP before anything else; patients who opted in too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not getattr(request, "api_token", None)
            and not request.path.startswith(MFA_EXEMPT_PREFIXES)
            and not user.is_verified()  # type: ignore[attr-defined]
            and (staff_flag(request) or user.mfa_opt_in)
        ):
            if _is_api(request):
                return JsonResponse(
                    {
                        "detail": gettext("Finish two-step verification before using the API."),
                        "errors": [],
                    },
                    status=403,
                )

            target = "accounts:mfa_verify" if has_confirmed_device(user) else "accounts:mfa_setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
