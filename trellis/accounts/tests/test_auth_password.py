"""Password reset by email (through a real SMTP server) and changing a password."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from trellis.accounts.models import PasswordResetRequest
from trellis.accounts.throttle import KNOWN_BROWSER_COOKIE
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
    assert event.details == {
        "email": "nobody@nowhere.example",
        "account_found": False,
        "sent": False,
    }
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


def test_reset_forgets_this_address_failures_marks_the_browser_and_ends_other_sessions(
    cast: Any, client_for: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alex = cast["patient_alex"]
    elsewhere = client_for("patient_alex")
    assert elsewhere.get("/accounts/security/").status_code == 200
    browser = Client()
    for _attempt in range(3):
        browser.post(reverse("accounts:login"), {"email": alex.email, "password": "wrong-guess"})
    assert AccessAttempt.objects.filter(username=alex.email).exists()
    request_reset(alex.email, django_capture_on_commit_callbacks)
    path = re.search(r"http://[^/]+(/accounts/password-reset/\S+/)", smtp.to(alex.email)[0].body)
    assert path is not None
    done = browser.post(
        path.group(1), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert not AccessAttempt.objects.filter(username=alex.email).exists()
    assert done.cookies[KNOWN_BROWSER_COOKIE].value
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
    alex = cast["patient_alex"]
    assert AccessAttempt.objects.get(username=alex.email).failures_since_start == 1
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


def _ask_for_reset(email: str, address: str, capture: Any) -> Any:
    with capture(execute=True):
        client = Client(REMOTE_ADDR=address)
        return client.post(reverse("accounts:password_reset"), {"email": email})


def test_reset_mails_to_one_address_are_limited_per_hour(
    cast: Any, smtp: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TRELLIS_PASSWORD_RESETS_PER_EMAIL = 3
    alex = cast["patient_alex"]
    answers = [
        _ask_for_reset(alex.email, f"203.0.113.{n}", django_capture_on_commit_callbacks)
        for n in range(1, 32)
    ]
    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, reverse("accounts:password_reset_sent"))
    }
    assert len(smtp.to(alex.email)) == 3
    limited = AuditEvent.objects.filter(
        action="auth.password_reset_requested", details__limit="email"
    )
    assert limited.count() == 28
    # An hour later the person can ask again.
    PasswordResetRequest.objects.update(requested_at=timeutil.now() - timedelta(minutes=61))
    _ask_for_reset(alex.email, "203.0.113.99", django_capture_on_commit_callbacks)
    assert len(smtp.to(alex.email)) == 4


def test_reset_requests_from_one_client_are_limited_per_hour(
    cast: Any, smtp: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TRELLIS_PASSWORD_RESETS_PER_ADDRESS = 10
    source = "203.0.113.50"
    for n in range(10):
        _ask_for_reset(f"someone{n}@patients.example", source, django_capture_on_commit_callbacks)
    alex = cast["patient_alex"]
    answer = _ask_for_reset(alex.email, source, django_capture_on_commit_callbacks)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("accounts:password_reset_sent")
    assert smtp.to(alex.email) == []
    event = AuditEvent.objects.filter(action="auth.password_reset_requested").last()
    assert event is not None
    assert event.details == {
        "email": alex.email,
        "account_found": True,
        "sent": False,
        "limit": "address",
    }
    # From anywhere else, Alex's request is sent as usual.
    _ask_for_reset(alex.email, "198.51.100.7", django_capture_on_commit_callbacks)
    assert len(smtp.to(alex.email)) == 1
