"""Sign-in pages: password, two-step verification, password reset and change, security.

Views stay thin: they parse a form, call one service, and render. The services in
trellis.accounts.services.auth and .mfa own every write and audit row.
"""

from __future__ import annotations

import time
from typing import Any

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language, get_language_from_request, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from trellis.accounts import mfa as mfa_reads
from trellis.accounts import services, throttle
from trellis.accounts.backends import SIGN_IN_BACKEND
from trellis.accounts.forms import (
    CodeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    SetPasswordForm,
)
from trellis.accounts.language import LanguageForm
from trellis.accounts.middleware import IS_STAFF, LAST_SEEN, LOGIN_AT, SIGNED_OUT_REASON
from trellis.accounts.models import User
from trellis.accounts.queries import active_memberships, is_patient, is_staff
from trellis.accounts.services import language as account_language
from trellis.core import timeutil
from trellis.core.errors import add_to_form
from trellis.signin import queries
from trellis.signin import services as signin
from trellis.signin.forms import TimeZoneForm

PENDING_TOTP_KEY = "trellis_pending_totp_key"
GET_POST = require_http_methods(["GET", "HEAD", "POST"])


def _home_url() -> str:
    try:
        return reverse(settings.LOGIN_REDIRECT_URL)
    except NoReverseMatch:
        return "/"


def _safe_next(request: HttpRequest) -> str:
    """The `next` address if it stays on this site, else empty."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


THROTTLED_STATUS = 429


def throttled_page(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The one answer to an attempt whose source is held back (`trellis.accounts.throttle`):
    the same page and status whatever address was typed and whether or not it has an
    account. django-axes' middleware calls it too (AXES_LOCKOUT_CALLABLE); a page that has
    already answered with it is passed through unchanged."""
    if original_response is not None and original_response.status_code == THROTTLED_STATUS:
        return original_response
    minutes = max(1, int(settings.TRELLIS_SIGNIN_WINDOW_SECONDS) // 60)
    response = render(
        request, "signin/throttled.html", {"minutes": minutes}, status=THROTTLED_STATUS
    )
    response["Retry-After"] = str(int(settings.TRELLIS_SIGNIN_WINDOW_SECONDS))
    return response


def _completed(request: HttpRequest, response: HttpResponse, email: str) -> HttpResponse:
    """A sign-in is complete: forget this address's failures for the account, and mark
    this browser as one its owner uses."""
    throttle.forget_failures(request, email)
    throttle.remember_browser(request, response, email)
    return response


def _signed_out_notice(request: HttpRequest) -> str:
    reason = request.session.pop(SIGNED_OUT_REASON, None)
    if not isinstance(reason, dict):
        return ""
    if reason.get("kind") == "idle":
        minutes = int(reason.get("minutes", 0))
        return ngettext(
            "You were signed out after %(minutes)d minute without activity, to keep your "
            "information safe. Please sign in again.",
            "You were signed out after %(minutes)d minutes without activity, to keep your "
            "information safe. Please sign in again.",
            minutes,
        ) % {"minutes": minutes}
    if reason.get("kind") == "absolute":
        return _("Your session reached its maximum length. Please sign in again.")
    return ""


def _start_session(request: HttpRequest, user: User) -> None:
    django_login(request, user, backend=SIGN_IN_BACKEND)
    stamp = time.time()
    request.session[LOGIN_AT] = stamp
    request.session[LAST_SEEN] = stamp
    request.session[IS_STAFF] = is_staff(user)


# ---- Signing in and out ------------------------------------------------------------


@never_cache
@GET_POST
def login_view(request: HttpRequest) -> HttpResponse:
    """Email and password; staff (and patients who opted in) then give a code."""
    next_url = _safe_next(request)
    if request.user.is_authenticated and request.method != "POST":
        return redirect(next_url or _home_url())
    form = LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            now = timeutil.now()
            email = form.cleaned_data["email"]
            if throttle.held_back(request, email, stage="password"):
                return throttled_page(request)
            result = signin.sign_in_with_password(
                email=email, password=form.cleaned_data["password"], now=now
            )
            if result.user is not None:
                _start_session(request, result.user)
                if result.needs_second_step:
                    target = (
                        "accounts:mfa_verify"
                        if mfa_reads.has_confirmed_device(result.user)
                        else "accounts:mfa_setup"
                    )
                    return redirect(_with_next(reverse(target), next_url))
                return _completed(request, redirect(next_url or _home_url()), email)
            if throttle.count_failure(request, email, stage="password"):
                return throttled_page(request)
            form.add_error(
                None,
                _(
                    "That email address and password do not match an account. "
                    "Please check both and try again."
                ),
            )
    context = {
        "form": form,
        "next": next_url,
        "signed_out_notice": _signed_out_notice(request) if request.method != "POST" else "",
    }
    return render(request, "signin/login.html", context, status=status)


@never_cache
@GET_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks to confirm; POST signs out (so a link or image cannot sign anyone out)."""
    if request.method == "POST":
        if request.user.is_authenticated:
            services.sign_out(user=_user(request), now=timeutil.now())
        django_logout(request)
        messages.success(
            request, _("You have signed out. Thank you for looking after your information.")
        )
        return redirect("accounts:login")
    return render(request, "signin/logout.html")


# ---- Two-step verification -----------------------------------------------------------


def _held_back_and_signed_out(request: HttpRequest) -> HttpResponse:
    """Too many wrong codes or passwords from here: end the session, and answer with the
    one throttled page."""
    django_logout(request)
    return throttled_page(request)


def _code_held_back(request: HttpRequest, user: User) -> bool:
    """Whether this signed-in person's code attempts from here must not be checked."""
    return throttle.held_back(request, user.email, stage="code")


def _wrong_code_holds_back(request: HttpRequest, user: User) -> bool:
    """Count a wrong code from here; True when that reached a limit."""
    return throttle.count_failure(request, user.email, stage="code")


@never_cache
@login_required
@GET_POST
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Connect an authenticator app: QR code and typed secret, confirmed with a code."""
    user = _user(request)
    next_url = _safe_next(request)
    if mfa_reads.has_confirmed_device(user):
        return render(
            request,
            "signin/mfa_enabled.html",
            {"verified": user.is_verified(), "next": next_url},  # type: ignore[attr-defined]
        )
    key_hex = request.session.get(PENDING_TOTP_KEY)
    if not isinstance(key_hex, str) or len(key_hex) != 40:
        key_hex = mfa_reads.new_secret_hex()
        request.session[PENDING_TOTP_KEY] = key_hex
    form = CodeForm(
        request.POST if request.method == "POST" else None,
        allow_recovery=False,
        label=_("Code from your app"),
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            enrollment = services.confirm_totp(
                user=user, key_hex=key_hex, code=form.cleaned_data["code"], now=timeutil.now()
            )
            if enrollment is not None:
                request.session.pop(PENDING_TOTP_KEY, None)
                django_otp.login(request, enrollment.device)
                shown = render(
                    request,
                    "signin/recovery_codes.html",
                    {
                        "codes": enrollment.recovery_codes,
                        "just_enabled": True,
                        "continue_url": next_url or reverse("accounts:security"),
                    },
                )
                return _completed(request, shown, user.email)
            form.add_error(
                "code",
                _(
                    "That code does not match. Check that your app shows Trellis, and type "
                    "the 6 digits it shows now."
                ),
            )
    uri = mfa_reads.provisioning_uri(key_hex, user.email)
    context = {
        "form": form,
        "next": next_url,
        "qr": mfa_reads.qr_svg_data_uri(uri),
        "secret": mfa_reads.secret_base32(key_hex),
        "required": is_staff(user),
    }
    return render(request, "signin/mfa_setup.html", context, status=status)


@never_cache
@login_required
@GET_POST
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: an authenticator code or a recovery code."""
    user = _user(request)
    next_url = _safe_next(request)
    if user.is_verified():  # type: ignore[attr-defined]
        return redirect(next_url or _home_url())
    if not mfa_reads.has_confirmed_device(user):
        if services.auth.requires_second_step(user):
            return redirect(_with_next(reverse("accounts:mfa_setup"), next_url))
        return redirect("accounts:security")
    form = CodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            if _code_held_back(request, user):
                return _held_back_and_signed_out(request)
            now = timeutil.now()
            check = services.check_code(
                user=user, code=form.cleaned_data["code"], now=now, purpose="sign_in"
            )
            if check.device is not None:
                signin.complete_second_step(user=user, check=check, now=now)
                django_otp.login(request, check.device)
                if check.used_recovery_code:
                    left = mfa_reads.unused_recovery_codes(user)
                    messages.warning(
                        request,
                        ngettext(
                            "You signed in with a recovery code. You have %(n)d left; "
                            "make new ones from My account.",
                            "You signed in with a recovery code. You have %(n)d left; "
                            "make new ones from My account.",
                            left,
                        )
                        % {"n": left},
                    )
                return _completed(request, redirect(next_url or _home_url()), user.email)
            if _wrong_code_holds_back(request, user):
                return _held_back_and_signed_out(request)
            form.add_error(
                "code",
                _(
                    "That code did not work. Type the 6 digits your app shows now, or an "
                    "unused recovery code."
                ),
            )
    return render(
        request, "signin/mfa_verify.html", {"form": form, "next": next_url}, status=status
    )


@never_cache
@login_required
@GET_POST
def mfa_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Make ten new recovery codes (the old ones stop working); needs a current code."""
    user = _user(request)
    if not mfa_reads.has_confirmed_device(user):
        messages.info(request, _("Turn on two-step verification first."))
        return redirect("accounts:security")
    form = CodeForm(
        request.POST if request.method == "POST" else None,
        allow_recovery=False,
        label=_("Code from your app"),
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            if _code_held_back(request, user):
                return _held_back_and_signed_out(request)
            now = timeutil.now()
            check = services.check_code(
                user=user,
                code=form.cleaned_data["code"],
                now=now,
                allow_recovery=False,
                purpose="regenerate_recovery_codes",
            )
            if check.ok:
                codes = services.regenerate_recovery_codes(user=user, now=now)
                return render(
                    request,
                    "signin/recovery_codes.html",
                    {"codes": codes, "continue_url": reverse("accounts:security")},
                )
            if _wrong_code_holds_back(request, user):
                return _held_back_and_signed_out(request)
            form.add_error(
                "code", _("That code did not work. Type the 6 digits your app shows now.")
            )
    return render(request, "signin/mfa_recovery_codes.html", {"form": form}, status=status)


@never_cache
@login_required
@GET_POST
def mfa_disable(request: HttpRequest) -> HttpResponse:
    """A patient turns two-step verification off, confirming with a code. Not for staff."""
    user = _user(request)
    if is_staff(user):
        raise PermissionDenied(_("Staff accounts must keep two-step verification turned on."))
    if not mfa_reads.has_confirmed_device(user):
        messages.info(request, _("Two-step verification is already off."))
        return redirect("accounts:security")
    form = CodeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            if _code_held_back(request, user):
                return _held_back_and_signed_out(request)
            now = timeutil.now()
            check = services.check_code(
                user=user, code=form.cleaned_data["code"], now=now, purpose="disable"
            )
            if check.ok:
                services.disable_mfa(user=user, now=now)
                messages.success(request, _("Two-step verification is now off."))
                return redirect("accounts:security")
            if _wrong_code_holds_back(request, user):
                return _held_back_and_signed_out(request)
            form.add_error(
                "code",
                _(
                    "That code did not work. Type the 6 digits your app shows now, "
                    "or a recovery code."
                ),
            )
    return render(request, "signin/mfa_disable.html", {"form": form}, status=status)


# ---- My account ------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "HEAD"])
def security(request: HttpRequest) -> HttpResponse:
    """My account / security: two-step verification status and password."""
    user = _user(request)
    enabled = mfa_reads.has_confirmed_device(user)
    staff = is_staff(user)
    context: dict[str, Any] = {
        "mfa_enabled": enabled,
        "mfa_required": staff,
        "is_patient": is_patient(user),
        "recovery_codes_left": mfa_reads.unused_recovery_codes(user) if enabled else 0,
        "zone_form": _zone_form(user) if staff else None,
        "language_form": LanguageForm(initial={"language": user.language}),
    }
    return render(request, "signin/security.html", context)


def _zone_form(user: User, data: Any = None) -> TimeZoneForm:
    clinic = active_memberships(user).order_by("organization__name").first()
    clinic_zone = clinic.organization.time_zone if clinic else str(settings.TIME_ZONE)
    return TimeZoneForm(data, initial={"time_zone": user.time_zone}, clinic_zone=clinic_zone)


@never_cache
@login_required
@require_http_methods(["POST"])
def time_zone(request: HttpRequest) -> HttpResponse:
    """A member of staff chooses the zone their pages show times in."""
    user = _user(request)
    if not is_staff(user):
        raise PermissionDenied(_("Your times follow your preferences."))
    form = _zone_form(user, request.POST)
    if form.is_valid():
        try:
            signin.set_time_zone(user=user, time_zone=form.cleaned_data["time_zone"])
        except ValidationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Times now show in the zone you chose."))
            return redirect("accounts:security")
    form.fields["time_zone"].widget.attrs.update(
        {"aria-describedby": "id_time_zone_helptext id_time_zone_error", "aria-invalid": "true"}
    )
    enabled = mfa_reads.has_confirmed_device(user)
    context: dict[str, Any] = {
        "mfa_enabled": enabled,
        "mfa_required": True,
        "is_patient": is_patient(user),
        "recovery_codes_left": mfa_reads.unused_recovery_codes(user) if enabled else 0,
        "zone_form": form,
        "language_form": LanguageForm(initial={"language": user.language}),
    }
    return render(request, "signin/security.html", context, status=400)


@never_cache
@GET_POST
def language(request: HttpRequest) -> HttpResponse:
    """Choose the language of the pages: saved on the account of a signed-in person, and
    remembered in a cookie for this browser (so the sign-in page speaks it too)."""
    signed_in = request.user.is_authenticated
    form = LanguageForm(
        request.POST if request.method == "POST" else None,
        signed_in=signed_in,
        initial={"language": _user(request).language if signed_in else get_language()},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            code = form.cleaned_data["language"]
            try:
                if signed_in:
                    account_language.set_language(user=_user(request), language=code)
            except ValidationError as error:
                add_to_form(form, error)
            else:
                translation.activate(code or get_language_from_request(request))
                response = redirect(_safe_next(request) or reverse("accounts:security"))
                if code:
                    response.set_cookie(
                        settings.LANGUAGE_COOKIE_NAME,
                        code,
                        max_age=settings.LANGUAGE_COOKIE_AGE,
                        secure=settings.LANGUAGE_COOKIE_SECURE,
                        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                        samesite="Lax",
                    )
                else:
                    response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
                if signed_in:
                    messages.success(request, _("Trellis now speaks the language you chose."))
                return response
        status = 400
    return render(
        request,
        "signin/language.html",
        {"form": form, "next": _safe_next(request)},
        status=status,
    )


@never_cache
@login_required
@GET_POST
def password_change(request: HttpRequest) -> HttpResponse:
    """Choose a new password while signed in; the current one is asked first."""
    user = _user(request)
    form = PasswordChangeForm(user, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if throttle.held_back(request, user.email, stage="password"):
            return _held_back_and_signed_out(request)
        if form.is_valid():
            services.change_password(user=user, new_password=form.password, now=timeutil.now())
            # Keep this session; every other session ends with the old password.
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("accounts:security")
        if form.has_error("old_password", "password_incorrect"):
            services.record_wrong_secret(user=user, now=timeutil.now(), kind="password")
            if throttle.count_failure(request, user.email, stage="password"):
                return _held_back_and_signed_out(request)
    return render(request, "signin/password_change.html", {"form": form}, status=status)


# ---- Password reset by email -----------------------------------------------------------


@never_cache
@GET_POST
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            services.request_password_reset(
                email=form.cleaned_data["email"],
                now=timeutil.now(),
                ip=throttle.client_address(request),
            )
            return redirect("accounts:password_reset_sent")
        return render(request, "signin/password_reset.html", {"form": form}, status=400)
    return render(request, "signin/password_reset.html", {"form": form})


@require_http_methods(["GET", "HEAD"])
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "signin/password_reset_sent.html")


@never_cache
@GET_POST
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Choose a new password from an emailed link; a used or expired link says so (410)."""
    user = queries.user_from_reset_link(uidb64, token)
    if user is None:
        return render(request, "signin/password_reset_invalid.html", status=410)
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            services.reset_password(user=user, new_password=form.password, now=timeutil.now())
            if request.user.is_authenticated and request.user.pk == user.pk:
                django_logout(request)
            # Whoever holds the e-mailed link is the owner: this browser is theirs.
            return _completed(request, redirect("accounts:password_reset_complete"), user.email)
        return render(request, "signin/password_reset_confirm.html", {"form": form}, status=400)
    return render(request, "signin/password_reset_confirm.html", {"form": form})


@require_http_methods(["GET", "HEAD"])
def password_reset_complete(request: HttpRequest) -> HttpResponse:
    return render(request, "signin/password_reset_complete.html")
