"""A person chooses the language Trellis speaks to them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.language import is_offered
from trellis.accounts.models import User


@transaction.atomic
def set_language(*, user: User, language: str) -> User:
    """Save the person's language (blank: follow the browser); only offered ones."""
    if language and not is_offered(language):
        raise ValidationError({"language": _("Choose a language from the list.")})
    before = user.language
    if before == language:
        return user
    user.language = language
    user.save(update_fields=["language", "updated_at"])
    audit.record(
        action="account.language",
        actor=user,
        subject=user,
        details={"from": before, "to": language},
    )
    return user
