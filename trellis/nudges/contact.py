"""A person's number for texts: saved in E.164 form, the inbound-text index kept current,
and the change in the audit trail (never the number itself)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import User
from trellis.nudges import phones


@transaction.atomic
def set_phone_number(user: User, *, number: str, actor: User | None, at: datetime) -> User:
    """Save (or, with a blank `number`, remove) the number texts go to. A number that is
    not in international form (+ country code) is refused with the reason."""
    normalized = phones.normalize(number) if number.strip() else ""
    if number.strip() and not normalized:
        raise ValidationError(
            {"phone": _("Write the number with its country code, for example +1 555 010 0101.")}
        )
    if (user.phone or "") == normalized:
        return user
    user.phone = normalized
    user.save(update_fields=["phone"])
    phones.refresh_phone_index([user])
    audit.record(
        action="user.phone.update",
        actor=actor,
        subject=user,
        patient=user,
        details={"has_number": bool(normalized)},
        at=at,
    )
    return user
