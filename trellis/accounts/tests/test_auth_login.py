"""Signing in with email and password, and signing out (throttling: signin/tests)."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from trellis.accounts.models import User
from trellis.audit.models import AuditEvent
from trellis.demo import personas

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
    assert event.details["reason"] == "wrong_password"
    assert "not-the-password-at-all" not in str(event.details)


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
