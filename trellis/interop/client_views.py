"""The clinic admin's pages for connected systems (SMART backend clients).

`/clinic/connections/` lists the clinic's clients; a form registers one and then shows
what the system's vendor needs: its `client_id`, the token URL and the FHIR base URL.
Each client's page switches it off or on and replaces its keys. Every change is one
service call in `trellis.interop.smart.services`, audited there.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from trellis.accounts import queries
from trellis.accounts.models import Organization
from trellis.interop import clients
from trellis.interop.clients import RegisterClientForm, ReplaceKeysForm, SetActiveForm
from trellis.interop.models import BackendClient
from trellis.interop.smart import keys, scopes, services
from trellis.interop.smart.types import readable_types


def _managed_clinic(request: HttpRequest) -> Organization:
    org = queries.organizations_with(request.user, clients.MANAGE).order_by("name").first()
    if org is None:
        raise PermissionDenied(_("Only clinic admins can manage connected systems."))
    return org


def _require_manager(request: HttpRequest) -> None:
    if not queries.organizations_with(request.user, clients.MANAGE).exists():
        raise PermissionDenied(_("Only clinic admins can manage connected systems."))


def _urls(request: HttpRequest) -> dict[str, str]:
    """What a system's vendor types into their configuration."""
    fhir_base = request.build_absolute_uri(reverse("smart:token")).removesuffix("auth/token")
    return {
        "token_url": request.build_absolute_uri(reverse("smart:token")),
        "fhir_base_url": fhir_base.rstrip("/"),
        "configuration_url": request.build_absolute_uri(reverse("smart:configuration")),
    }


@never_cache
@login_required
def connections(request: HttpRequest) -> HttpResponse:
    """The clinic's connected systems."""
    org = _managed_clinic(request)
    found = clients.clients_for(request.user).filter(organization=org).order_by("name")
    return render(
        request,
        "interop/clients/list.html",
        {"clinic": org, "clients": found, **_urls(request)},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@login_required
def register(request: HttpRequest) -> HttpResponse:
    """Register a system: its name, its public keys, what it may ask for."""
    org = _managed_clinic(request)
    form = RegisterClientForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            client = services.register_client(
                organization=org,
                name=data["name"],
                jwks=data["jwks"],
                chosen_scopes=data["scopes"],
                scope_choices=scopes.allowed_choices(readable_types()),
                may_read_message_text=data["may_read_message_text"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("“%(name)s” is registered. Give its vendor the client ID and the URLs below.")
                % {"name": client.name},
            )
            return redirect("connections:detail", pk=client.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "interop/clients/register.html",
        {"form": form, "clinic": org, **_urls(request)},
        status=status,
    )


def _detail(
    request: HttpRequest,
    client: BackendClient,
    *,
    keys_form: ReplaceKeysForm | None = None,
    status: int = 200,
) -> HttpResponse:
    granted = client.scopes.split()
    return render(
        request,
        "interop/clients/detail.html",
        {
            "client": client,
            "scopes": granted,
            "keys": keys.describe(client.jwks),
            "keys_form": keys_form or ReplaceKeysForm(),
            **_urls(request),
        },
        status=status,
    )


@never_cache
@login_required
def detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """One system: what its vendor needs to connect, its keys and scopes, its status."""
    _require_manager(request)
    return _detail(request, clients.access_client(request.user, pk))


@require_POST
@login_required
def set_active(request: HttpRequest, pk: Any) -> HttpResponse:
    _require_manager(request)
    client = clients.access_client(request.user, pk)
    form = SetActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to switch the system off or on."))
        return redirect("connections:detail", pk=client.pk)
    active = form.cleaned_data["active"]
    services.set_client_active(client, active=active, actor=request.user)  # type: ignore[arg-type]
    if active:
        messages.success(request, _("“%(name)s” can connect again.") % {"name": client.name})
    else:
        messages.success(
            request,
            _("“%(name)s” can no longer connect; its tokens stopped working.")
            % {"name": client.name},
        )
    return redirect("connections:detail", pk=client.pk)


@require_POST
@login_required
def replace_keys(request: HttpRequest, pk: Any) -> HttpResponse:
    _require_manager(request)
    client = clients.access_client(request.user, pk)
    form = ReplaceKeysForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.replace_keys(client, jwks=form.cleaned_data["jwks"], actor=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("The keys of “%(name)s” were replaced.") % {"name": client.name}
            )
            return redirect("connections:detail", pk=client.pk)
    return _detail(request, client, keys_form=form, status=400)
