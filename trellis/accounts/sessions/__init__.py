"""Session engines: Django's, with the stored session read without building an ORM query.

`trellis.accounts.sessions.db` and `trellis.accounts.sessions.cached_db` are Django's
`db` and `cached_db` engines (SESSION_ENGINE) whose read from the database goes through
`core.rows` (a SELECT by the session's key, written once) instead of a query the ORM
builds for every request; everything else (the cache in front, expiry, saving, ending
sessions) is Django's own.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.models import Session
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from trellis.core.rows import rows_where


class StoredSessionRead:
    """`_get_session_from_db` for a SessionStore whose model is Django's Session: the
    session with this key, unless it has expired (then, as in Django, no session)."""

    session_key: str | None
    _session_key: str | None

    def _get_session_from_db(self) -> Any:
        try:
            key = self.session_key
            found = rows_where(Session, session_key=key) if key else []
        except SuspiciousOperation as error:
            logging.getLogger(f"django.security.{type(error).__name__}").warning(str(error))
            found = []
        session = found[0] if found else None
        if session is None or session.expire_date <= timezone.now():
            self._session_key = None
            return None
        return session
