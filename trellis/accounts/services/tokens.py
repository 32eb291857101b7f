"""Creating and revoking API tokens for a clinic's integrations."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import ApiToken, Organization, TokenScope, User
from trellis.accounts.tokens import digest, display_prefix, new_secret


@transaction.atomic
def create_api_token(
    *, organization: Organization, name: str, scope: str, actor: User
) -> tuple[ApiToken, str]:
    """Issue a token for one clinic; returns it with its secret, which is never stored
    and must be shown to the admin exactly once."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name that says what uses it.")})
    if scope not in TokenScope.values:
        raise ValidationError({"scope": _("Choose read only or read and write.")})
    secret = new_secret()
    token = ApiToken(
        organization=organization,
        name=name,
        scope=scope,
        prefix=display_prefix(secret),
        token_hash=digest(secret),
        created_by=actor,
    )
    token.full_clean()
    token.save()
    audit.record(
        action="api_token.create",
        actor=actor,
        subject=token,
        organization=organization,
        details={"name": name, "scope": scope, "prefix": token.prefix},
    )
    return token, secret


@transaction.atomic
def revoke_api_token(*, token: ApiToken, actor: User, now: datetime) -> ApiToken:
    """Stop a token from working at once. Revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = now
    token.save(update_fields=["revoked_at", "updated_at"])
    audit.record(
        action="api_token.revoke",
        actor=actor,
        subject=token,
        organization=token.organization_id,
        details={"name": token.name, "prefix": token.prefix},
    )
    return token


# Use is recorded at most this often, so that reading through the API stays reading.
USE_RECORDED_EVERY_SECONDS = 60


def note_token_use(token: ApiToken, *, now: datetime) -> None:
    """An integration called the API with this token: remember when, at most once a minute."""
    if token.last_used_at is not None and (
        (now - token.last_used_at).total_seconds() <= USE_RECORDED_EVERY_SECONDS
    ):
        return
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
