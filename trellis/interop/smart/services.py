"""Every change to a backend client, and every token issued to one.

Registering a client, switching it off or on, and replacing its keys are a clinic admin's
actions; each is one transaction with its audit row. Issuing a token is the token
endpoint's action: the client assertion is checked (`assertion`), its `jti` is recorded
so it cannot be used twice, the scopes are granted (`scopes`), and only the token's hash
is stored. A refused assertion from a known client is written to the audit trail too, so
the clinic can see someone trying a client's identity.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trellis.accounts.models import Organization, User
from trellis.accounts.tokens import digest
from trellis.audit import services as audit
from trellis.interop.models import AccessToken, BackendClient, UsedAssertion
from trellis.interop.smart import assertion, keys, scopes

logger = logging.getLogger(__name__)

TOKEN_LIFETIME_SECONDS = 300
GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

TOKEN_ISSUED = "fhir.token"  # noqa: S105  (an audit action name)
TOKEN_REFUSED = "fhir.token_refused"  # noqa: S105  (an audit action name)
CLIENT_REGISTERED = "interop.client.register"
CLIENT_SWITCHED_OFF = "interop.client.switch_off"
CLIENT_SWITCHED_ON = "interop.client.switch_on"
CLIENT_KEYS_REPLACED = "interop.client.keys"


def _label(client: BackendClient) -> str:
    return f"{client.name} ({client.client_id})"


def _check_scopes(chosen: Iterable[str], choices: Collection[str]) -> list[str]:
    chosen = [s for s in dict.fromkeys(chosen) if s]
    unknown = [s for s in chosen if s not in choices]
    if unknown:
        raise ValidationError(
            {
                "scopes": _("These scopes are not offered: %(scopes)s.")
                % {"scopes": ", ".join(unknown)}
            }
        )
    if not chosen:
        raise ValidationError({"scopes": _("Choose at least one scope the client may ask for.")})
    return chosen


@transaction.atomic
def register_client(
    *,
    organization: Organization,
    name: str,
    jwks: dict[str, Any],
    chosen_scopes: Iterable[str],
    scope_choices: Collection[str],
    may_read_message_text: bool,
    actor: User,
) -> BackendClient:
    """Let a system of the clinic in: its name, its public keys, what it may ask for.
    Its `client_id` is made here; `system/ServiceRequest.write` lets it send referrals."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the client a name that says what system it is.")})
    if BackendClient.objects.filter(organization=organization, name__iexact=name).exists():
        raise ValidationError(
            {"name": _("This clinic already has a client called “%(name)s”.") % {"name": name}}
        )
    try:
        checked = keys.check_jwks(jwks)
    except keys.KeyProblem as problem:
        raise ValidationError({"jwks": str(problem)}) from None
    chosen = _check_scopes(chosen_scopes, scope_choices)
    client = BackendClient(
        organization=organization,
        name=name,
        client_id=str(uuid.uuid4()),
        jwks=checked,
        scopes=" ".join(chosen),
        may_refer=scopes.REFER in chosen,
        may_read_message_text=may_read_message_text,
        created_by=actor,
    )
    client.full_clean()
    client.save()
    audit.record(
        action=CLIENT_REGISTERED,
        actor=actor,
        subject=client,
        organization=organization,
        details={
            "name": name,
            "client_id": client.client_id,
            "scopes": chosen,
            "may_read_message_text": may_read_message_text,
            "keys": [k["kid"] for k in checked["keys"]],
        },
    )
    return client


@transaction.atomic
def set_client_active(client: BackendClient, *, active: bool, actor: User) -> BackendClient:
    """Switch a client off (its tokens stop working at once) or on again. Doing what is
    already done changes nothing and writes nothing."""
    client = BackendClient.objects.select_for_update().get(pk=client.pk)
    if client.is_active == active:
        return client
    client.is_active = active
    client.save(update_fields=["is_active", "updated_at"])
    if not active:
        # A switched-off client's tokens would be refused anyway (caller.authenticate);
        # removing them keeps nothing usable lying around.
        AccessToken.objects.filter(client=client).delete()
    audit.record(
        action=CLIENT_SWITCHED_ON if active else CLIENT_SWITCHED_OFF,
        actor=actor,
        subject=client,
        organization=client.organization_id,
        details={"name": client.name, "client_id": client.client_id},
    )
    return client


@transaction.atomic
def replace_keys(client: BackendClient, *, jwks: dict[str, Any], actor: User) -> BackendClient:
    """Replace a client's public keys (a rotation, or a key thought compromised). Tokens
    already issued keep working until they expire, five minutes at most."""
    try:
        checked = keys.check_jwks(jwks)
    except keys.KeyProblem as problem:
        raise ValidationError({"jwks": str(problem)}) from None
    client = BackendClient.objects.select_for_update().get(pk=client.pk)
    before = [k.get("kid") for k in client.jwks.get("keys", [])]
    client.jwks = checked
    client.save(update_fields=["jwks", "updated_at"])
    audit.record(
        action=CLIENT_KEYS_REPLACED,
        actor=actor,
        subject=client,
        organization=client.organization_id,
        details={
            "name": client.name,
            "client_id": client.client_id,
            "keys_before": before,
            "keys": [k["kid"] for k in checked["keys"]],
        },
    )
    return client


class TokenRefused(Exception):
    """A token request refused, as RFC 6749 section 5.2 names it."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: list[str]
    expires_in: int
    client: BackendClient


def issue_token(
    *,
    grant_type: str,
    assertion_type: str,
    client_assertion: str,
    scope: str,
    client_id: str,
    audiences: Collection[str],
    now: datetime,
) -> IssuedToken:
    """A token for the client the assertion proves, with the scopes it may have; or
    TokenRefused saying why not (see the module and docs/fhir-connect.md)."""
    if not grant_type:
        raise TokenRefused("invalid_request", "grant_type is required (client_credentials).")
    if grant_type != GRANT_TYPE:
        raise TokenRefused(
            "unsupported_grant_type", f"Only the {GRANT_TYPE} grant is supported here."
        )
    if not client_assertion or not assertion_type:
        raise TokenRefused(
            "invalid_request", "client_assertion_type and client_assertion are required."
        )
    if assertion_type != ASSERTION_TYPE:
        raise TokenRefused("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
    requested = scope.split()
    if not requested:
        raise TokenRefused("invalid_request", "scope is required, such as system/*.read.")

    try:
        claimed_id = assertion.read_client_id(client_assertion)
    except assertion.AssertionRefused as refused:
        raise TokenRefused("invalid_client", str(refused), 401) from None
    client = (
        BackendClient.objects.select_related("organization").filter(client_id=claimed_id).first()
    )
    if client is None:
        raise TokenRefused("invalid_client", "No client is registered with this client_id.", 401)
    if client_id and client_id != client.client_id:
        _refuse(client, "The client_id does not match the assertion's iss.")
    if not client.is_active:
        _refuse(client, "This client has been switched off by the clinic.")
    try:
        claims = assertion.verify(
            client_assertion,
            client_id=client.client_id,
            jwks=client.jwks,
            audiences=audiences,
            now=now,
        )
    except assertion.AssertionRefused as refused:
        _refuse(client, str(refused))
    granted = scopes.grant(requested, client.scopes.split())
    try:
        return _issue(client, claims, granted=granted, requested=requested, now=now)
    except _Replayed:
        _refuse(client, "This client assertion was used before; make a new one (a new jti).")


class _Replayed(Exception):
    pass


@transaction.atomic
def _issue(
    client: BackendClient,
    claims: assertion.Claims,
    *,
    granted: list[str],
    requested: list[str],
    now: datetime,
) -> IssuedToken:
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(client=client, jti=claims.jti, expires_at=claims.expires)
    except IntegrityError:
        raise _Replayed from None
    if not granted:
        raise TokenRefused(
            "invalid_scope",
            "None of the scopes asked for is allowed for this client: "
            f"it may ask for {client.scopes}.",
        )
    secret = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=TOKEN_LIFETIME_SECONDS)
    AccessToken.objects.create(
        client=client, token_hash=digest(secret), scopes=" ".join(granted), expires_at=expires_at
    )
    BackendClient.objects.filter(pk=client.pk).update(last_used_at=now)
    client.last_used_at = now
    audit.record(
        action=TOKEN_ISSUED,
        actor_label=_label(client),
        subject=client,
        organization=client.organization_id,
        details={
            "client": client.name,
            "client_id": client.client_id,
            "scopes": granted,
            "requested": requested,
            "expires_at": expires_at.isoformat(),
        },
    )
    return IssuedToken(
        access_token=secret, scopes=granted, expires_in=TOKEN_LIFETIME_SECONDS, client=client
    )


def _refuse(client: BackendClient, reason: str) -> NoReturn:
    """Write the refusal to the audit trail (its own transaction: the request changed
    nothing else) and answer invalid_client."""
    with transaction.atomic():
        audit.record(
            action=TOKEN_REFUSED,
            actor_label=_label(client),
            subject=client,
            organization=client.organization_id,
            details={"client": client.name, "client_id": client.client_id, "reason": reason},
        )
    logger.info("token refused for client %s: %s", client.client_id, reason)
    raise TokenRefused("invalid_client", reason, 401)


def remove_spent_credentials(now: datetime) -> dict[str, int]:
    """Forget expired tokens and the jti of expired assertions (an expired assertion is
    refused for its exp, so its jti no longer needs remembering)."""
    with transaction.atomic():
        tokens, _ = AccessToken.objects.filter(expires_at__lte=now).delete()
        used, _ = UsedAssertion.objects.filter(expires_at__lte=now).delete()
    return {"tokens": tokens, "assertions": used}
