"""Two-step verification: setting up an app, codes at sign-in, recovery codes, staff rules."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts.models import RecoveryCode, User
from trellis.audit.models import AuditEvent
from trellis.core.testing import current_totp
from trellis.demo import personas

VERIFY = "/accounts/mfa/verify/"
SETUP = "/accounts/mfa/setup/"
LOGIN = "/accounts/login/"
DEMO_PASSWORD = personas.DEMO_PASSWORD


@pytest.fixture(autouse=True)
def _no_device_throttle(settings: Any) -> None:
    # django-otp's own per-device delay would refuse a right code typed right after a
    # wrong one; Trellis's own throttling is what these tests exercise.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def password_step_response(email: str) -> Any:
    return Client().post(LOGIN, {"email": email, "password": DEMO_PASSWORD})


def password_step(email: str, next_url: str = "") -> Client:
    client = Client()
    data = {"email": email, "password": personas.DEMO_PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post("/accounts/login/", data)
    assert response.status_code == 302
    return client


def code_for_secret(secret_text: str) -> str:
    import base64

    raw = secret_text.replace(" ", "")
    key = base64.b32decode(raw + "=" * (-len(raw) % 8))
    return f"{TOTP(key).token():06d}"


def enable_for_patient(client: Client) -> list[str]:
    page = client.get(SETUP).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert secret is not None
    response = client.post(SETUP, {"code": code_for_secret(secret.group(1))})
    assert response.status_code == 200
    return re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content.decode())


def test_unverified_staff_are_sent_to_the_code_step(client_for: Any) -> None:
    client = client_for("therapist_maria", verified=False)
    response = client.get("/accounts/security/")
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert "next=%2Faccounts%2Fsecurity%2F" in response["Location"]


def test_staff_without_a_device_are_sent_to_setup(client_for: Any, cast: Any) -> None:
    TOTPDevice.objects.filter(user=cast["coach_jordan"]).delete()
    response = client_for("coach_jordan", verified=False).get("/accounts/security/")
    assert response["Location"].startswith(SETUP)


def test_patients_without_mfa_are_not_asked_for_a_code(client_for: Any) -> None:
    assert client_for("patient_alex", verified=False).get("/accounts/security/").status_code == 200


def test_therapist_signs_in_with_password_and_authenticator_code(cast: Any) -> None:
    maria = cast["therapist_maria"]
    client = password_step(maria.email, next_url="/accounts/security/")
    response = client.post(VERIFY, {"code": current_totp(maria), "next": "/accounts/security/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/security/"
    assert client.get("/accounts/security/").status_code == 200
    assert AuditEvent.objects.filter(action="mfa.verified", actor_id=maria.pk).exists()


def test_wrong_code_is_refused_audited_and_counted(cast: Any) -> None:
    maria = cast["therapist_maria"]
    client = password_step(maria.email)
    response = client.post(VERIFY, {"code": "000000" if current_totp(maria) != "000000" else "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That code did not work" in html
    assert 'id="id_code_error"' in html
    assert AuditEvent.objects.filter(action="mfa.failed", actor_id=maria.pk).count() == 1
    assert AccessAttempt.objects.get(username=maria.email).failures_since_start == 1


def test_too_many_wrong_codes_from_one_address_hold_it_back_and_sign_out(
    cast: Any, settings: Any
) -> None:
    settings.TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = 3
    maria = cast["therapist_maria"]
    client = password_step(maria.email)
    for _ in range(2):
        assert client.post(VERIFY, {"code": "abcde-abcde"}).status_code == 400
    response = client.post(VERIFY, {"code": "abcde-abcde"})
    assert response.status_code == 429
    assert "Please wait before trying again" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # From here, even the right password is not checked until the window has passed ...
    again = password_step_response(maria.email)
    assert again.status_code == 429
    assert AuditEvent.objects.filter(action="auth.throttled", actor_id=maria.pk).exists()
    # ... but from another address she signs in and reaches the code step.
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    moved_on = elsewhere.post(LOGIN, {"email": maria.email, "password": DEMO_PASSWORD})
    assert moved_on.status_code == 302
    assert moved_on["Location"].startswith(VERIFY)


def test_patient_sets_up_mfa_with_a_qr_code_and_gets_ten_recovery_codes(
    client_for: Any, cast: Any
) -> None:
    alex = cast["patient_alex"]
    client = client_for("patient_alex")
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html
    assert "<script" not in html
    # The secret stays the same across a reload, so a scanned code still works.
    assert re.findall(r'id="totp-secret">([^<]+)<', client.get(SETUP).content.decode()) == (
        re.findall(r'id="totp-secret">([^<]+)<', html)
    )
    codes = enable_for_patient(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(RecoveryCode.objects.filter(user=alex).values_list("code_hash", flat=True))
    assert stored == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    alex.refresh_from_db()
    assert alex.mfa_opt_in
    assert TOTPDevice.objects.get(user=alex).confirmed
    assert AuditEvent.objects.filter(action="mfa.enable", actor_id=alex.pk).exists()
    # The codes are never shown again.
    assert codes[0] not in client.get("/accounts/security/").content.decode()


def test_setup_with_a_wrong_code_saves_nothing(client_for: Any, cast: Any) -> None:
    client = client_for("patient_alex")
    client.get(SETUP)
    response = client.post(SETUP, {"code": "12"})
    assert response.status_code == 400
    assert "That code does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=cast["patient_alex"]).exists()


def test_patient_who_opted_in_is_asked_for_a_code_next_time(client_for: Any, cast: Any) -> None:
    codes = enable_for_patient(client_for("patient_alex"))
    client = password_step(cast["patient_alex"].email)
    assert client.get("/accounts/security/")["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"code": codes[0].upper()}).status_code == 302
    assert client.get("/accounts/security/").status_code == 200


def test_a_recovery_code_works_once(client_for: Any, cast: Any) -> None:
    codes = enable_for_patient(client_for("patient_alex"))
    alex = cast["patient_alex"]
    first = password_step(alex.email)
    assert first.post(VERIFY, {"code": codes[3]}).status_code == 302
    used = AuditEvent.objects.get(action="mfa.recovery_code_used")
    assert used.details["remaining"] == 9
    second = password_step(alex.email)
    response = second.post(VERIFY, {"code": codes[3]})
    assert response.status_code == 400
    assert second.get("/accounts/security/").status_code == 302


def test_staff_see_that_mfa_is_on_when_they_open_setup(client_for: Any) -> None:
    response = client_for("therapist_maria").get(SETUP)
    assert response.status_code == 200
    assert "Two-step verification is on" in response.content.decode()


def test_staff_cannot_turn_mfa_off(client_for: Any, cast: Any) -> None:
    client = client_for("therapist_maria")
    assert client.get("/accounts/security/mfa/disable/").status_code == 403
    response = client.post(
        "/accounts/security/mfa/disable/", {"code": current_totp(cast["therapist_maria"])}
    )
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=cast["therapist_maria"]).exists()
    assert "Turn off" not in client.get("/accounts/security/").content.decode()


def test_patient_turns_mfa_off_with_a_code(client_for: Any, cast: Any) -> None:
    client = client_for("patient_alex")
    codes = enable_for_patient(client)
    response = client.post("/accounts/security/mfa/disable/", {"code": codes[0]})
    assert response.status_code == 302
    alex = User.objects.get(pk=cast["patient_alex"].pk)
    assert not alex.mfa_opt_in
    assert not TOTPDevice.objects.filter(user=alex).exists()
    assert not RecoveryCode.objects.filter(user=alex).exists()
    assert AuditEvent.objects.filter(action="mfa.disable", actor_id=alex.pk).exists()


def test_regenerating_recovery_codes_needs_a_current_code_and_retires_old_ones(
    client_for: Any, cast: Any
) -> None:
    maria = cast["therapist_maria"]
    client = client_for("therapist_maria")
    url = reverse("accounts:mfa_recovery_codes")
    assert client.get(url).status_code == 200
    refused = client.post(url, {"code": "abcde-fghjk"})
    assert refused.status_code == 400
    assert not RecoveryCode.objects.filter(user=maria).exists()
    response = client.post(url, {"code": current_totp(maria)})
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", response.content.decode())
    assert len(codes) == 10
    assert AuditEvent.objects.filter(action="mfa.recovery_codes_regenerated").count() == 1
    old = set(RecoveryCode.objects.filter(user=maria).values_list("code_hash", flat=True))
    from trellis.accounts import services
    from trellis.core import timeutil

    services.regenerate_recovery_codes(user=maria, now=timeutil.now())
    new = set(RecoveryCode.objects.filter(user=maria).values_list("code_hash", flat=True))
    assert old.isdisjoint(new) and len(new) == 10


def test_security_page_shows_status_and_links(client_for: Any) -> None:
    html = client_for("patient_alex").get("/accounts/security/").content.decode()
    assert "Off." in html
    assert reverse("accounts:mfa_setup") in html
    assert reverse("accounts:password_change") in html
