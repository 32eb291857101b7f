"""Django's database session engine, read through one prepared statement."""

from django.contrib.sessions.backends import db

from trellis.accounts.sessions import StoredSessionRead


class SessionStore(StoredSessionRead, db.SessionStore):
    pass
