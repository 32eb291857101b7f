"""Pages for running a clinic: the home page, people, invitations, settings and API tokens.

Views stay thin: parse a form, ask the permission layer (`queries`), call one service,
render. Who may do what is decided in `trellis.accounts.queries`; these pages only say
403 ("this page is not for your role") or 404 ("nothing like that in your reach").

Decision: the people pages are for staff; a patient gets 403 on all of them, whatever
the id, so the answer says nothing about which ids exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from trellis.accounts import guards, queries, throttle
from trellis.accounts.backends import SIGN_IN_BACKEND
from trellis.accounts.mfa import has_confirmed_device
from trellis.accounts.models import CLINICAL_ROLES, STAFF_ROLES, Invitation, Organization, Role
from trellis.accounts.queries import Capability
from trellis.accounts.services import invitations as invitation_services
from trellis.accounts.services import tokens as token_services
from trellis.accounts.services.clinic import update_clinic_settings
from trellis.accounts.services.invitations import InvitationProblem, InvitationUnusable
from trellis.care import queries as care_queries
from trellis.care.queries import current_enrollment
from trellis.clinic import queries as clinic_queries
from trellis.clinic import services as clinic_services
from trellis.clinic.forms import (
    ChangeRoleForm,
    ClinicSettingsForm,
    CreateTokenForm,
    ExistingAccountForm,
    InviteStaffForm,
    NewAccountPasswordForm,
    SetActiveForm,
)
from trellis.core import timeutil
from trellis.insights.queries import REPORT_READERS
from trellis.onboarding import services as onboarding_services
from trellis.signin.services import sign_in_with_password
from trellis.signin.views import throttled_page

NEW_TOKEN_SESSION_KEY = "clinic_new_api_token"  # noqa: S105  (a session key name)


def _user(request: HttpRequest) -> Any:
    return request.user


def _managed_clinic(request: HttpRequest, capability: Capability) -> Organization:
    """The clinic where the person holds `capability` (the first by name), or 403."""
    org = queries.organizations_with(request.user, capability).order_by("name").first()
    if org is None:
        raise PermissionDenied(_("Only clinic admins can do this."))
    return org


def _optional_url(name: str) -> str:
    """A page another part of Trellis provides, or "" while it is not installed."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff see an overview of their clinic; patients a simple welcome."""
    membership = queries.primary_membership(request.user)
    if membership is None:
        return render(request, "clinic/home_no_clinic.html")
    org = membership.organization
    if membership.role == Role.PATIENT:
        # A patient in a program starts their day on Today.
        if current_enrollment(request.user) is not None:
            return redirect("journey:today")
        return render(
            request,
            "clinic/home_patient.html",
            {
                "membership": membership,
                "clinic": org,
                "care_team": clinic_queries.care_team_at(request.user, org),
                "security_url": _optional_url("accounts:security"),
            },
        )
    can_manage = queries.can(request.user, Capability.MANAGE_PEOPLE, org)
    open_invitations = 0
    if can_manage:
        open_invitations = clinic_queries.open_invitations(
            request.user, now=timeutil.now(), organization=org
        ).count()
    return render(
        request,
        "clinic/home_staff.html",
        {
            "membership": membership,
            "clinic": org,
            "counts": clinic_queries.people_counts(request.user, org),
            "can_manage_people": can_manage,
            "can_invite_patients": membership.role in CLINICAL_ROLES,
            "can_manage_tokens": queries.can(request.user, Capability.MANAGE_TOKENS, org),
            "can_manage_settings": queries.can(request.user, Capability.MANAGE_SETTINGS, org),
            "can_view_audit": queries.can(request.user, Capability.VIEW_AUDIT, org),
            "open_invitations": open_invitations,
            "audit_url": _optional_url("audit:events"),
            "security_url": _optional_url("accounts:security"),
            "reports_url": reverse("insights_reports:index", args=[org.slug])
            if membership.role in REPORT_READERS
            else "",
        },
    )


@login_required
def people(request: HttpRequest) -> HttpResponse:
    """Everyone in the person's reach, optionally one role only."""
    guards.require_staff(request)
    role = request.GET.get("role", "")
    if role not in Role.values:
        role = ""
    manage_orgs = clinic_queries.managed_clinic_ids(request.user)
    open_invitations: list[Invitation] = []
    if manage_orgs:
        open_invitations = list(clinic_queries.open_invitations(request.user, now=timeutil.now()))
    return render(
        request,
        "clinic/people.html",
        {
            "memberships": clinic_queries.people_for(request.user, role=role),
            "role": role,
            "roles": Role.choices,
            "can_manage_people": bool(manage_orgs),
            "can_invite_patients": clinic_queries.sees_patients(request.user),
            "open_invitations": open_invitations,
        },
    )


@login_required
def person(request: HttpRequest, pk: Any) -> HttpResponse:
    """One person's role and status at a clinic; admins can change them here."""
    guards.require_staff(request)
    membership = care_queries.access_membership(request.user, pk)
    can_manage = queries.can(request.user, Capability.MANAGE_PEOPLE, membership.organization_id)
    is_self = membership.user_id == request.user.pk
    # The patient's questionnaire scores, for those whose caseload holds them.
    progress_url = ""
    if membership.role == Role.PATIENT and clinic_queries.has_in_reach(
        request.user, membership.user_id
    ):
        progress_url = reverse("measures:patient_progress", args=[membership.user_id])
    return render(
        request,
        "clinic/person.html",
        {
            "membership": membership,
            "can_manage": can_manage and not is_self,
            "is_self": is_self,
            "progress_url": progress_url,
            "role_form": ChangeRoleForm(initial={"role": membership.role}),
            "role_choices": _role_choices_for(membership.role),
        },
    )


def _role_choices_for(current: str) -> list[tuple[str, str]]:
    # A patient account stays a patient account; staff move between staff roles.
    if current == Role.PATIENT:
        return [(Role.PATIENT.value, str(Role.PATIENT.label))]
    return [(value, str(label)) for value, label in Role.choices if value in STAFF_ROLES]


def _managed_membership(request: HttpRequest, pk: Any) -> Any:
    if not queries.organizations_with(request.user, Capability.MANAGE_PEOPLE).exists():
        raise PermissionDenied(_("Only clinic admins can change people's access."))
    return queries.access_managed_membership(request.user, pk)


@require_POST
@login_required
def person_role(request: HttpRequest, pk: Any) -> HttpResponse:
    membership = _managed_membership(request, pk)
    form = ChangeRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role from the list."))
        return redirect("clinic:person", pk=membership.pk)
    try:
        clinic_services.change_access(
            membership, role=form.cleaned_data["role"], actor=_user(request), now=timeutil.now()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("clinic:person", pk=membership.pk)
    messages.success(
        request,
        _("%(name)s is now %(role)s.")
        % {"name": membership.user.display_name, "role": membership.get_role_display()},
    )
    return redirect("clinic:person", pk=membership.pk)


@require_POST
@login_required
def person_active(request: HttpRequest, pk: Any) -> HttpResponse:
    membership = _managed_membership(request, pk)
    form = SetActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to suspend or restore access."))
        return redirect("clinic:person", pk=membership.pk)
    active = form.cleaned_data["active"]
    try:
        clinic_services.change_access(
            membership, active=active, actor=_user(request), now=timeutil.now()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("clinic:person", pk=membership.pk)
    name = membership.user.display_name
    if active:
        messages.success(request, _("%(name)s can sign in to this clinic again.") % {"name": name})
    else:
        messages.success(request, _("%(name)s can no longer use this clinic.") % {"name": name})
    return redirect("clinic:person", pk=membership.pk)


@require_http_methods(["GET", "POST"])
@login_required
def invite(request: HttpRequest) -> HttpResponse:
    """Invite a member of staff by email."""
    org = _managed_clinic(request, Capability.MANAGE_PEOPLE)
    form = InviteStaffForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation_services.create_invitation(
                organization=org,
                email=data["email"],
                full_name=data["full_name"],
                role=data["role"],
                team=data["team"],
                actor=_user(request),
                now=timeutil.now(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("An invitation is on its way to %(email)s.") % {"email": data["email"]}
            )
            return redirect("clinic:people")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "clinic/invite.html", {"form": form, "clinic": org}, status=status)


@require_POST
@login_required
def invitation_revoke(request: HttpRequest, pk: Any) -> HttpResponse:
    _managed_clinic(request, Capability.MANAGE_PEOPLE)
    invitation = queries.access_invitation(request.user, pk)
    try:
        invitation_services.revoke_invitation(
            invitation=invitation, actor=_user(request), now=timeutil.now()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("The invitation for %(email)s no longer works.") % {"email": invitation.email},
        )
    return redirect("clinic:people")


PROBLEM_TEXT = {
    InvitationProblem.EXPIRED: (
        gettext_lazy("This invitation has expired"),
        gettext_lazy(
            "Invitation links work for a limited time. Ask your clinic to send you a new one."
        ),
    ),
    InvitationProblem.REVOKED: (
        gettext_lazy("This invitation was withdrawn"),
        gettext_lazy(
            "Your clinic withdrew this invitation. Ask them if you think this is a mistake."
        ),
    ),
    InvitationProblem.USED: (
        gettext_lazy("This invitation has already been used"),
        gettext_lazy(
            "Each invitation link works once. If it was you, sign in with your email and password."
        ),
    ),
}


def _invitation_problem_page(request: HttpRequest, problem: InvitationProblem) -> HttpResponse:
    title, message = PROBLEM_TEXT[problem]
    return render(
        request,
        "clinic/invitation_unusable.html",
        {"title": title, "message": message, "login_url": _optional_url("accounts:login")},
        status=410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation email links to: choose a password (or confirm an existing
    account) and join the clinic."""
    invitation = invitation_services.invitation_by_token(token)
    if invitation is None:
        return render(
            request,
            "clinic/invitation_unusable.html",
            {
                "title": _("We do not recognise this invitation"),
                "message": _(
                    "Check that you copied the whole link from the email, "
                    "or ask your clinic for a new one."
                ),
                "login_url": _optional_url("accounts:login"),
            },
            status=404,
        )
    now = timeutil.now()
    problem = invitation_services.problem_with(invitation, now)
    if problem is not None:
        invitation_services.record_refused_invitation(invitation=invitation, problem=problem)
        return _invitation_problem_page(request, problem)
    existing = invitation_services.existing_account(invitation)
    data = request.POST if request.method == "POST" else None
    form: NewAccountPasswordForm | ExistingAccountForm
    if existing is None:
        form = NewAccountPasswordForm(data, email=invitation.email, full_name=invitation.full_name)
    else:
        form = ExistingAccountForm(data)
    if request.method == "POST" and form.is_valid() and existing is not None:
        # The same check as the sign-in page: failures count against where they come from,
        # and a source held back gets the same throttled page.
        if throttle.held_back(request, existing.email, stage="password"):
            return throttled_page(request)
        result = sign_in_with_password(
            email=existing.email, password=form.cleaned_data["password"], now=now
        )
        if not result.ok:
            if throttle.count_failure(request, existing.email, stage="password"):
                return throttled_page(request)
            form.add_error("password", _("That password is not right for this account."))
    if request.method == "POST" and form.is_valid():
        try:
            membership = onboarding_services.accept_invitation(
                invitation=invitation,
                now=now,
                password=form.cleaned_data.get("new_password1", ""),
                full_name=form.cleaned_data.get("full_name", ""),
            )
        except InvitationUnusable as unusable:
            invitation_services.record_refused_invitation(
                invitation=invitation, problem=unusable.problem
            )
            return _invitation_problem_page(request, unusable.problem)
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            login(request, membership.user, backend=SIGN_IN_BACKEND)
            messages.success(
                request, _("Welcome to %(clinic)s.") % {"clinic": membership.organization.name}
            )
            if membership.role in STAFF_ROLES:
                # Staff must set up two-step verification before anything else.
                target = _optional_url("accounts:mfa_setup")
                if target:
                    if has_confirmed_device(membership.user):
                        target = _optional_url("accounts:mfa_verify") or target
                    return redirect(target)
            if membership.role == Role.PATIENT:
                # A patient invited into a program starts with their getting-started steps.
                return redirect("onboarding:start")
            return redirect("clinic:home")
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "clinic/accept_invitation.html",
        {"invitation": invitation, "form": form, "existing": existing is not None},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def clinic_settings(request: HttpRequest) -> HttpResponse:
    """A clinic's name, time zone, locale and crisis resources."""
    org = _managed_clinic(request, Capability.MANAGE_SETTINGS)
    initial = {f: getattr(org, f) for f in ("name", "time_zone", "locale", "crisis_resources")}
    form = ClinicSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = update_clinic_settings(
                organization=org, actor=_user(request), **form.cleaned_data
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if changed:
                messages.success(request, _("The clinic settings were saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("clinic:settings")
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "clinic/settings.html", {"form": form, "clinic": org}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The clinic's API tokens, and a form to create one. A new secret is shown once."""
    org = _managed_clinic(request, Capability.MANAGE_TOKENS)
    form = CreateTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = token_services.create_api_token(
                organization=org,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                actor=_user(request),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            # Kept in the session for exactly one page view, never in a URL.
            request.session[NEW_TOKEN_SESSION_KEY] = {"id": str(token.pk), "secret": secret}
            return redirect("clinic:tokens")
    new_token = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    token_list = clinic_queries.api_tokens_at(request.user, org)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "clinic/tokens.html",
        {"form": form, "clinic": org, "tokens": token_list, "new_token": new_token},
        status=status,
    )


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: Any) -> HttpResponse:
    _managed_clinic(request, Capability.MANAGE_TOKENS)
    token = queries.access_api_token(request.user, pk)
    token_services.revoke_api_token(token=token, actor=_user(request), now=timeutil.now())
    messages.success(request, _("The token “%(name)s” no longer works.") % {"name": token.name})
    return redirect("clinic:tokens")
