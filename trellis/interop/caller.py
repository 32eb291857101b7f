"""Who is calling the FHIR endpoints: a backend client holding an access token.

Every FHIR request is answered for one `Caller`, found from its `Authorization: Bearer`
header by `authenticate`. Issuing tokens (the client assertion, the token endpoint) is
`smart`'s work; this module only recognises a token already issued and says what its
scopes allow.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from trellis.accounts.models import Organization
from trellis.accounts.tokens import digest
from trellis.core import timeutil
from trellis.interop.models import AccessToken, BackendClient


class Unauthorized(Exception):
    """No token, an unknown one, an expired one, or a client switched off: HTTP 401."""


@dataclass(frozen=True)
class Caller:
    client: BackendClient
    scopes: frozenset[str]

    @property
    def organization(self) -> Organization:
        return self.client.organization

    @property
    def label(self) -> str:
        """How the audit trail names the caller: the client's name and id."""
        return f"{self.client.name} ({self.client.client_id})"

    def may_read(self, resource_type: str) -> bool:
        """SMART scopes, v1 (`system/Patient.read`) and v2 (`system/Patient.rs`) alike."""
        for scope in self.scopes:
            context, _, rest = scope.partition("/")
            kind, _, access = rest.partition(".")
            if context != "system" or kind not in ("*", resource_type):
                continue
            if access in ("read", "*") or (access.startswith(("r", "s")) and "r" in access):
                return True
        return False

    @property
    def may_read_message_text(self) -> bool:
        return self.client.may_read_message_text


def authenticate(request: HttpRequest) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("An access token is needed: Authorization: Bearer <token>.")
    found = (
        AccessToken.objects.select_related("client__organization")
        .filter(token_hash=digest(token.strip()))
        .first()
    )
    if found is None:
        raise Unauthorized("The access token is not known.")
    if found.expires_at <= timeutil.now():
        raise Unauthorized("The access token has expired; ask for a new one.")
    if not found.client.is_active:
        raise Unauthorized("The client has been switched off by the clinic.")
    return Caller(client=found.client, scopes=frozenset(found.scopes.split()))
