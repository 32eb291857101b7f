"""Signing in with email and password, signing out, and the lockout that slows guessing."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from trellis.accounts import services
from trellis.accounts.models import User
from trellis.accounts.services.auth import lockout_seconds
from trellis.audit.models import AuditEvent
from trellis.core import timeutil
from trellis.core.testing import need_postgres
from trellis.demo import personas
from trellis.signin import services as signin

LOGIN = "/accounts/login/"
GENERIC = "That email address and password do not match an account"


def post_login(client: Client, email: str, password: str, **extra: str) -> Any:
    return client.post(LOGIN, {"email": email, "password": password, **extra})


def test_login_page_renders_an_accessible_form(db: Any) -> None:
    response = Client().get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_email"' in html
    assert 'autocomplete="current-password"' in html
    assert "<script" not in html


def test_patient_signs_in_with_email_and_password(cast: Any) -> None:
    client = Client()
    response = post_login(client, "ALEX@patients.example", personas.DEMO_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(cast["patient_alex"].pk)
    event = AuditEvent.objects.filter(action="auth.login").last()
    assert event is not None and event.actor_id == cast["patient_alex"].pk


def test_login_honours_a_safe_next_and_ignores_an_offsite_one(cast: Any) -> None:
    response = post_login(Client(), "alex@patients.example", personas.DEMO_PASSWORD, next="/x/y/")
    assert response["Location"] == "/x/y/"
    response = post_login(
        Client(), "alex@patients.example", personas.DEMO_PASSWORD, next="https://evil.example/"
    )
    assert "evil.example" not in response["Location"]


def test_staff_password_leads_to_the_code_step_keeping_next(cast: Any) -> None:
    client = Client()
    response = post_login(
        client, "maria.therapist@riverside.example", personas.DEMO_PASSWORD, next="/clinic/people/"
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))
    assert "next=%2Fclinic%2Fpeople%2F" in response["Location"]


def test_wrong_password_gets_a_generic_message_and_an_audit_row_without_the_password(
    cast: Any,
) -> None:
    response = post_login(Client(), "alex@patients.example", "not-the-password-at-all")
    assert response.status_code == 400
    assert GENERIC in response.content.decode()
    event = AuditEvent.objects.filter(action="auth.login_failed").last()
    assert event is not None
    assert event.details["email"] == "alex@patients.example"
    assert "not-the-password-at-all" not in str(event.details)
    cast["patient_alex"].refresh_from_db()
    assert cast["patient_alex"].failed_login_count == 1


def test_unknown_email_gets_the_same_message_as_a_wrong_password(cast: Any) -> None:
    unknown = post_login(Client(), "nobody@nowhere.example", "whatever-password")
    wrong = post_login(Client(), "alex@patients.example", "whatever-password")
    assert unknown.status_code == wrong.status_code == 400
    assert GENERIC in unknown.content.decode()
    event = AuditEvent.objects.filter(action="auth.login_failed").first()
    assert event is not None and event.details["email"] == "nobody@nowhere.example"


def test_unknown_email_still_costs_a_password_hash(cast: Any, monkeypatch: Any) -> None:
    from django.contrib.auth.hashers import get_hasher

    hasher_class = type(get_hasher())
    calls: list[str] = []
    original = hasher_class.encode

    def counting(self: Any, password: str, salt: str) -> str:
        calls.append(password)
        return original(self, password, salt)

    monkeypatch.setattr(hasher_class, "encode", counting)
    post_login(Client(), "nobody@nowhere.example", "whatever-password")
    assert calls == ["whatever-password"]


def test_malformed_email_is_a_400_with_the_error_tied_to_the_field(db: Any) -> None:
    response = post_login(Client(), "not an email", "x")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-describedby="id_email_error"' in html
    assert 'id="id_email_error"' in html


def test_fifth_failed_login_locks_the_account(cast: Any, settings: Any) -> None:
    settings.TRELLIS_LOGIN_FAILURES_BEFORE_LOCK = 5
    client = Client()
    for _ in range(4):
        assert post_login(client, "alex@patients.example", "wrong-password-1").status_code == 400
    response = post_login(client, "alex@patients.example", "wrong-password-1")
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    alex = User.objects.get(pk=cast["patient_alex"].pk)
    assert alex.locked_until is not None and alex.lockout_count == 1
    lockout = AuditEvent.objects.get(action="auth.lockout")
    assert lockout.details["seconds"] == settings.TRELLIS_LOCKOUT_BASE_SECONDS


def test_locked_account_is_refused_even_with_the_right_password(cast: Any) -> None:
    alex = cast["patient_alex"]
    User.objects.filter(pk=alex.pk).update(
        locked_until=timeutil.now() + timedelta(minutes=4, seconds=30)
    )
    client = Client()
    response = post_login(client, alex.email, personas.DEMO_PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "5 more minutes" in html
    assert "_auth_user_id" not in client.session


def test_lockout_time_doubles_and_stops_at_the_ceiling(settings: Any) -> None:
    settings.TRELLIS_LOCKOUT_BASE_SECONDS = 60
    settings.TRELLIS_LOCKOUT_MAX_SECONDS = 600
    assert [lockout_seconds(n) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    assert lockout_seconds(10_000) == 600


def test_second_lockout_lasts_twice_as_long(cast: Any, settings: Any) -> None:
    settings.TRELLIS_LOGIN_FAILURES_BEFORE_LOCK = 2
    settings.TRELLIS_LOCKOUT_BASE_SECONDS = 60
    alex = cast["patient_alex"]
    now = timeutil.now()
    for _ in range(2):
        signin.sign_in_with_password(email=alex.email, password="wrong-password", now=now)
    alex.refresh_from_db()
    assert alex.locked_until == now + timedelta(seconds=60)
    later = now + timedelta(seconds=61)
    for _ in range(2):
        signin.sign_in_with_password(email=alex.email, password="wrong-password", now=later)
    alex.refresh_from_db()
    assert alex.locked_until == later + timedelta(seconds=120)
    assert alex.lockout_count == 2


def test_lock_expires_and_success_resets_the_failure_count(cast: Any) -> None:
    alex = cast["patient_alex"]
    now = timeutil.now()
    User.objects.filter(pk=alex.pk).update(
        failed_login_count=3, lockout_count=1, locked_until=now - timedelta(seconds=1)
    )
    result = signin.sign_in_with_password(
        email=alex.email, password=personas.DEMO_PASSWORD, now=now
    )
    assert result.ok
    alex.refresh_from_db()
    assert (alex.failed_login_count, alex.lockout_count, alex.locked_until) == (0, 0, None)


def test_staff_password_alone_does_not_clear_failures(cast: Any) -> None:
    # Otherwise someone holding the password could guess codes forever, resetting the
    # count with the password between guesses.
    maria = cast["therapist_maria"]
    User.objects.filter(pk=maria.pk).update(failed_login_count=3)
    result = signin.sign_in_with_password(
        email=maria.email, password=personas.DEMO_PASSWORD, now=timeutil.now()
    )
    assert result.ok and result.needs_second_step
    maria.refresh_from_db()
    assert maria.failed_login_count == 3


def test_deactivated_person_cannot_sign_in(cast: Any) -> None:
    User.objects.filter(pk=cast["patient_alex"].pk).update(is_active=False)
    response = post_login(Client(), "alex@patients.example", personas.DEMO_PASSWORD)
    assert response.status_code == 400


def test_signed_in_visitor_to_the_login_page_is_sent_home(client_for: Any) -> None:
    response = client_for("patient_alex").get(LOGIN)
    assert response.status_code == 302


def test_logout_get_asks_to_confirm_and_post_signs_out(client_for: Any, cast: Any) -> None:
    client = client_for("patient_alex")
    page = client.get(reverse("accounts:logout"))
    assert page.status_code == 200
    assert "Yes, sign me out" in page.content.decode()
    assert "_auth_user_id" in client.session
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.filter(action="auth.logout").last()
    assert event is not None and event.actor_id == cast["patient_alex"].pk


@pytest.mark.django_db(transaction=True)
def test_simultaneous_failures_are_all_counted() -> None:
    need_postgres()
    cast = personas.build(with_mfa=False)
    alex = cast["patient_alex"]
    now = timeutil.now()
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            start.wait()
            services.record_failed_attempt(user=alex, now=now, kind="password")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    from django.test import override_settings

    with override_settings(TRELLIS_LOGIN_FAILURES_BEFORE_LOCK=100):
        threads = [threading.Thread(target=attempt) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    alex.refresh_from_db()
    assert alex.failed_login_count == 6
