"""The session engines and the user backend read rows without the ORM's query building,
and still answer exactly as Django's own: expired or unknown sessions are no session,
an inactive or unknown user is no one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from trellis.accounts.backends import SIGN_IN_BACKEND, UserBackend
from trellis.core import timeutil

ENGINES = ["trellis.accounts.sessions.db", "trellis.accounts.sessions.cached_db"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_stored_session_reads_back_until_it_expires(db: Any, settings: Any, engine: str) -> None:
    settings.SESSION_ENGINE = engine
    store_class = import_module(engine).SessionStore
    store = store_class()
    store["answer"] = 42
    store.save()
    key = store.session_key

    assert store_class(key)["answer"] == 42

    Session.objects.filter(session_key=key).update(expire_date=timeutil.now() - timedelta(1))
    caches[settings.SESSION_CACHE_ALIAS].clear()  # the cached engine reads the database again
    expired = store_class(key)
    assert "answer" not in expired
    assert expired.session_key is None  # as Django: a new session, not the old key


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unknown_session_key_is_no_session(db: Any, settings: Any, engine: str) -> None:
    settings.SESSION_ENGINE = engine
    store = import_module(engine).SessionStore("x" * 32)
    assert dict(store.items()) == {}
    assert store.session_key is None


def test_the_backend_finds_active_people_and_no_one_else(cast: Any) -> None:
    alex = cast["patient_alex"]
    backend = UserBackend()

    assert backend.get_user(alex.pk) == alex
    assert backend.get_user(str(alex.pk)) == alex
    assert backend.get_user(uuid.uuid4()) is None
    assert backend.get_user("not a key") is None

    alex.is_active = False
    alex.save(update_fields=["is_active"])
    assert backend.get_user(alex.pk) is None
    assert ModelBackend().get_user(alex.pk) is None  # the same answer as Django's


def test_signing_in_names_the_backend_and_a_session_naming_the_old_one_still_works(
    cast: Any, settings: Any
) -> None:
    alex = cast["patient_alex"]
    assert SIGN_IN_BACKEND in settings.AUTHENTICATION_BACKENDS

    for backend in (SIGN_IN_BACKEND, "django.contrib.auth.backends.ModelBackend"):
        client = Client()
        client.force_login(alex, backend=backend)
        assert client.get("/api/v1/me").status_code == 200, backend
