"""How a signed-in person is found again on each request.

Django's model backend reads the session's user with an ORM query built afresh for every
request; on the patient write path building it takes longer than PostgreSQL takes to
answer. `UserBackend` reads the same row with the same check (an inactive account is no
one) through `core.rows`, and signs people in exactly as the model backend does.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from trellis.accounts.models import User
from trellis.core.rows import rows_where

# The backend a session begun by Trellis's own sign-in names (django.contrib.auth.login).
SIGN_IN_BACKEND = "trellis.accounts.backends.UserBackend"


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            found = rows_where(User, id=user_id)
        except (ValueError, TypeError, ValidationError):  # a key that cannot be a user's
            return None
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None
