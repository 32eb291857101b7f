"""Django's database session engine, the stored session read through `core.rows`."""

from django.contrib.sessions.backends import db

from trellis.accounts.sessions import StoredSessionRead


class SessionStore(StoredSessionRead, db.SessionStore):
    pass
