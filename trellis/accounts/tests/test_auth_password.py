"""Password reset by email (through a real SMTP server) and changing a password."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse

from trellis.accounts.models import User
from trellis.audit.models import AuditEvent
from trellis.core import timeutil
from trellis.demo import personas

NEW_PASSWORD = "a-fresh-garden-path-42"


def request_reset(email: str, capture: Any) -> Any:
    with capture(execute=True):
        return Client().post(reverse("accounts:password_reset"), {"email": email})


def test_reset_link_arrives_by_email_and_works_once_only(
    cast: Any, smtp: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TRELLIS_BASE_URL = "https://trellis.clinic.example"
    alex = cast["patient_alex"]
    response = request_reset("Alex@Patients.example", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_sent")
    mails = smtp.to(alex.email)
    assert len(mails) == 1
    assert "Reset your Trellis password" in mails[0].subject
    match = re.search(
        r"https://trellis\.clinic\.example(/accounts/password-reset/\S+/)", mails[0].body
    )
    assert match is not None, mails[0].body
    path = match.group(1)

    client = Client()
    assert client.get(path).status_code == 200
    weak = client.post(path, {"new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 400
    assert 'id="id_new_password1_error"' in weak.content.decode()
    done = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert AuditEvent.objects.filter(action="auth.password_reset", actor_id=alex.pk).exists()

    again = Client().get(path)
    assert again.status_code == 410
    assert "expired or was already used" in again.content.decode()
    reused = Client().post(path, {"new_password1": "x" * 12, "new_password2": "x" * 12})
    assert reused.status_code == 410

    signed_in = Client()
    login = signed_in.post(
        reverse("accounts:login"), {"email": alex.email, "password": NEW_PASSWORD}
    )
    assert login.status_code == 302 and "_auth_user_id" in signed_in.session


def test_unknown_address_gets_the_same_answer_and_no_email(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = request_reset("nobody@nowhere.example", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_sent")
    assert smtp.messages == []
    event = AuditEvent.objects.get(action="auth.password_reset_requested")
    assert event.details == {"email": "nobody@nowhere.example", "account_found": False}
    page = Client().get(response["Location"]).content.decode()
    assert "If an account exists for that address" in page


def test_expired_link_shows_a_clear_page(cast: Any, settings: Any) -> None:
    from trellis.accounts.services.auth import password_reset_link

    path = password_reset_link(cast["patient_alex"]).split("8000", 1)[-1]
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = Client().get(path)
    assert response.status_code == 410


def test_garbage_link_is_a_410_not_a_500(db: Any) -> None:
    response = Client().get("/accounts/password-reset/%%%/not-a-token/")
    assert response.status_code in (404, 410)
    assert Client().get("/accounts/password-reset/MTIz/abc-def/").status_code == 410


def test_reset_unlocks_the_account_and_ends_other_sessions(
    cast: Any, client_for: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alex = cast["patient_alex"]
    elsewhere = client_for("patient_alex")
    assert elsewhere.get("/accounts/security/").status_code == 200
    User.objects.filter(pk=alex.pk).update(
        failed_login_count=2, lockout_count=3, locked_until=timeutil.now() + timedelta(hours=1)
    )
    request_reset(alex.email, django_capture_on_commit_callbacks)
    path = re.search(r"http://[^/]+(/accounts/password-reset/\S+/)", smtp.to(alex.email)[0].body)
    assert path is not None
    Client().post(path.group(1), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    alex.refresh_from_db()
    assert (alex.failed_login_count, alex.lockout_count, alex.locked_until) == (0, 0, None)
    assert elsewhere.get("/accounts/security/").status_code == 302


def test_password_change_needs_the_current_password(client_for: Any, cast: Any) -> None:
    client = client_for("patient_alex")
    url = reverse("accounts:password_change")
    wrong = client.post(
        url,
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 400
    assert "That is not your current password" in wrong.content.decode()
    alex = User.objects.get(pk=cast["patient_alex"].pk)
    assert alex.failed_login_count == 1
    mismatch = client.post(
        url,
        {
            "old_password": personas.DEMO_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD + "x",
        },
    )
    assert mismatch.status_code == 400
    assert "not the same" in mismatch.content.decode()
    ok = client.post(
        url,
        {
            "old_password": personas.DEMO_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert ok.status_code == 302
    assert client.get("/accounts/security/").status_code == 200  # this session stays
    alex.refresh_from_db()
    assert alex.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="auth.password_change", actor_id=alex.pk).exists()


def test_password_change_ends_other_sessions(client_for: Any) -> None:
    here, elsewhere = client_for("patient_alex"), client_for("patient_alex")
    here.post(
        reverse("accounts:password_change"),
        {
            "old_password": personas.DEMO_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert elsewhere.get("/accounts/security/").status_code == 302
