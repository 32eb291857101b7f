"""Django's cached database session engine, the stored session read through `core.rows`
when the cache does not hold it."""

from django.contrib.sessions.backends import cached_db

from trellis.accounts.sessions import StoredSessionRead


class SessionStore(StoredSessionRead, cached_db.SessionStore):
    pass
