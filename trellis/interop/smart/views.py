"""The token endpoint and SMART discovery, under /fhir/R4/.

Machine answers for machines: OAuth errors as RFC 6749 section 5.2 JSON
(`{"error", "error_description"}`), never an HTML page. The token endpoint is exempt
from CSRF (a backend client has no session and no cookie; it proves who it is with its
signed assertion) and answers with `Cache-Control: no-store`.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from trellis.core import timeutil
from trellis.interop.smart import keys, scopes, services
from trellis.interop.smart.types import readable_types


def token_url(request: HttpRequest) -> str:
    """The token endpoint's URL as this request reached the server."""
    return request.build_absolute_uri(reverse("smart:token"))


def token_audiences(request: HttpRequest) -> set[str]:
    """The URLs a client assertion's `aud` may name: the token endpoint as the request
    reached it, and as TRELLIS_BASE_URL names it (behind a proxy they can differ)."""
    path = reverse("smart:token")
    base = str(getattr(settings, "TRELLIS_BASE_URL", "")).rstrip("/")
    audiences = {token_url(request)}
    if base:
        audiences.add(base + path)
    return audiences


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    """`POST /fhir/R4/auth/token`: a client assertion in, a five-minute access token out."""
    form = request.POST
    try:
        issued = services.issue_token(
            grant_type=form.get("grant_type", ""),
            assertion_type=form.get("client_assertion_type", ""),
            client_assertion=form.get("client_assertion", ""),
            scope=form.get("scope", ""),
            client_id=form.get("client_id", ""),
            audiences=token_audiences(request),
            now=timeutil.now(),
        )
    except services.TokenRefused as refused:
        response = JsonResponse(
            {"error": refused.error, "error_description": refused.description},
            status=refused.status,
        )
        if refused.status == 401:
            # RFC 6749: a 401 names the authentication scheme the client should use.
            response["WWW-Authenticate"] = 'Bearer error="invalid_client"'
        return _no_store(response)
    return _no_store(
        JsonResponse(
            {
                "access_token": issued.access_token,
                "token_type": "bearer",
                "expires_in": issued.expires_in,
                "scope": " ".join(issued.scopes),
            }
        )
    )


@require_GET
def smart_configuration(request: HttpRequest) -> HttpResponse:
    """`GET /fhir/R4/.well-known/smart-configuration`: how a backend client connects."""
    return JsonResponse(
        {
            "token_endpoint": token_url(request),
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(keys.SIGNING_ALGS),
            "grant_types_supported": [services.GRANT_TYPE],
            "scopes_supported": scopes.allowed_choices(readable_types()),
            "capabilities": ["client-confidential-asymmetric"],
        }
    )
