"""Django's cached database session engine, read through one prepared statement when the
cache does not hold the session."""

from django.contrib.sessions.backends import cached_db

from trellis.accounts.sessions import StoredSessionRead


class SessionStore(StoredSessionRead, cached_db.SessionStore):
    pass
