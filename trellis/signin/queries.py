"""Reads of the sign-in pages: whose password a reset link is for."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from trellis.accounts.models import User


def user_from_reset_link(uidb64: str, token: str) -> User | None:
    """The active person an emailed reset link was made for, while the link is still good
    (None for a used, expired or altered link)."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = User.objects.filter(pk=pk, is_active=True).first()
    except (TypeError, ValueError, OverflowError, ValidationError):
        return None
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user
