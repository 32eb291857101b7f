"""Idle timeouts (staff 15 minutes, patients 30) and the absolute session lifetime."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from trellis.accounts.middleware import LAST_SEEN, LOGIN_AT
from trellis.audit.models import AuditEvent

PAGE = "/accounts/security/"


def age_session(client: Client, *, idle: float = 0, since_login: float = 0) -> None:
    """Pretend the last request was `idle` seconds ago and sign-in `since_login` ago."""
    client.get(PAGE)  # let the middleware stamp the session first
    session = client.session
    now = time.time()
    session[LAST_SEEN] = now - idle
    session[LOGIN_AT] = now - max(since_login, idle)
    session.save()


def follow_to_login(client: Client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    return client.get(response["Location"]).content.decode()


def test_staff_are_signed_out_after_15_idle_minutes(client_for: Any, cast: Any) -> None:
    client = client_for("therapist_maria")
    age_session(client, idle=15 * 60 + 5)
    page = follow_to_login(client)
    assert "signed out after 15 minutes without activity" in page
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.session_expired")
    assert event.actor_id == cast["therapist_maria"].pk


def test_staff_stay_signed_in_under_15_idle_minutes(client_for: Any) -> None:
    client = client_for("therapist_maria")
    age_session(client, idle=14 * 60)
    assert client.get(PAGE).status_code == 200


def test_patients_get_30_idle_minutes(client_for: Any) -> None:
    client = client_for("patient_alex")
    age_session(client, idle=20 * 60)
    assert client.get(PAGE).status_code == 200
    age_session(client, idle=30 * 60 + 5)
    assert "signed out after 30 minutes without activity" in follow_to_login(client)


def test_idle_limits_follow_the_settings(client_for: Any, settings: Any) -> None:
    settings.TRELLIS_PATIENT_IDLE_SECONDS = 5 * 60
    client = client_for("patient_alex")
    age_session(client, idle=6 * 60)
    assert "signed out after 5 minutes without activity" in follow_to_login(client)


def test_a_busy_session_still_ends_at_the_absolute_lifetime(client_for: Any, settings: Any) -> None:
    client = client_for("patient_alex")
    age_session(client, idle=10, since_login=settings.TRELLIS_SESSION_ABSOLUTE_SECONDS + 1)
    assert "Your session reached its maximum length" in follow_to_login(client)


def test_the_expiry_notice_is_shown_once(client_for: Any) -> None:
    client = client_for("patient_alex")
    age_session(client, idle=31 * 60)
    follow_to_login(client)
    assert "without activity" not in client.get("/accounts/login/").content.decode()


def test_api_requests_get_a_401_when_the_session_timed_out(client_for: Any) -> None:
    client = client_for("patient_alex")
    age_session(client, idle=31 * 60)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "timed out" in response.json()["detail"]
