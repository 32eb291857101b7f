"""Who is calling the JSON API: the signed-in person, or an integration token.

Every app's router asks these; the endpoints about people and invitations are in
trellis.clinic.api. Errors use the API's one shape (trellis/api.py).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import HttpError

from trellis.accounts.models import ApiToken, User


def api_token_of(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def session_user(request: HttpRequest) -> User:
    """The signed-in person; integration tokens have no person and get 403 here."""
    if api_token_of(request) is not None:
        raise HttpError(403, "This endpoint needs a signed-in person, not an API token.")
    return request.user  # type: ignore[return-value]
