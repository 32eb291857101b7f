"""API tokens: shown once, stored hashed, scoped, revocable, last use recorded."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.accounts.models import ApiToken, TokenScope
from trellis.accounts.services.tokens import create_api_token
from trellis.accounts.tokens import digest
from trellis.audit.models import AuditEvent

SECRET = re.compile(r'id="new-token-secret">(trl_[A-Za-z0-9_-]+)<')


def _create_through_page(client: Client, name: str, scope: str) -> str:
    response = client.post(reverse("clinic:tokens"), {"name": name, "scope": scope})
    assert response.status_code == 302
    assert "trl_" not in response["Location"]
    page = client.get(response["Location"])
    match = SECRET.search(page.content.decode())
    assert match, "the new secret is shown after creation"
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]
    return match.group(1)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_admin_creates_a_token_seen_once_and_stored_only_hashed(cast: Any, client_for: Any) -> None:
    admin = client_for("admin_avery")
    secret = _create_through_page(admin, "EHR nightly sync", TokenScope.READ)
    token = ApiToken.objects.get(name="EHR nightly sync")
    assert token.token_hash == digest(secret)
    assert secret.startswith(token.prefix) and len(token.prefix) < len(secret)
    assert token.organization == cast.clinics["riverside"]
    assert token.created_by == cast["admin_avery"]
    event = AuditEvent.objects.get(action="api_token.create", object_id=str(token.pk))
    assert secret not in json.dumps(event.details)
    again = admin.get(reverse("clinic:tokens")).content.decode()
    assert secret not in again
    assert "EHR nightly sync" in again and token.prefix in again


def test_a_new_token_works_and_its_use_is_recorded(cast: Any, client_for: Any) -> None:
    secret = _create_through_page(client_for("admin_avery"), "Reporting", TokenScope.READ)
    response = Client().get("/api/v1/organizations", headers=_bearer(secret))
    assert response.status_code == 200
    assert [o["name"] for o in response.json()] == ["Riverside Community Clinic"]
    token = ApiToken.objects.get(name="Reporting")
    assert token.last_used_at is not None
    listing = client_for("admin_avery").get(reverse("clinic:tokens")).content.decode()
    assert "Never" not in listing


def test_a_revoked_token_gets_401_with_the_error_shape(cast: Any, client_for: Any) -> None:
    admin = client_for("admin_avery")
    secret = _create_through_page(admin, "Old integration", TokenScope.READ_WRITE)
    token = ApiToken.objects.get(name="Old integration")
    assert admin.post(reverse("clinic:token_revoke", kwargs={"pk": token.pk})).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()
    response = Client().get("/api/v1/organizations", headers=_bearer(secret))
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"detail", "errors"} and body["detail"]
    assert "Revoked" in admin.get(reverse("clinic:tokens")).content.decode()


def test_an_unknown_token_gets_401(db: Any) -> None:
    response = Client().get("/api/v1/organizations", headers=_bearer("trl_made-up"))
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "errors"}


def test_a_read_only_token_gets_403_on_a_write(cast: Any) -> None:
    _token, secret = create_api_token(
        organization=cast.clinics["riverside"],
        name="Read only",
        scope=TokenScope.READ,
        actor=cast["admin_avery"],
    )
    response = Client().post(
        "/api/v1/invitations",
        {"email": "x@riverside.example", "role": "coach"},
        content_type="application/json",
        headers=_bearer(secret),
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "This API token is read-only."


def test_a_token_sees_only_its_own_clinic(cast: Any) -> None:
    _token, secret = create_api_token(
        organization=cast.clinics["hillside"],
        name="H",
        scope=TokenScope.READ,
        actor=cast["admin_hana"],
    )
    people = Client().get("/api/v1/people", headers=_bearer(secret)).json()
    names = {p["full_name"] for p in people}
    assert "Farah Haddad" in names and "Alex Rivera" not in names
    alex = cast.memberships["patient_alex"].pk
    assert Client().get(f"/api/v1/people/{alex}", headers=_bearer(secret)).status_code == 404


def test_a_token_does_not_open_html_pages(cast: Any) -> None:
    _token, secret = create_api_token(
        organization=cast.clinics["riverside"],
        name="W",
        scope=TokenScope.READ_WRITE,
        actor=cast["admin_avery"],
    )
    response = Client().get(reverse("clinic:people"), headers=_bearer(secret))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_token_needs_a_name(client_for: Any) -> None:
    response = client_for("admin_avery").post(
        reverse("clinic:tokens"), {"name": "  ", "scope": "read"}
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("key", ["supervisor_ruth", "therapist_maria", "patient_alex"])
def test_only_admins_manage_tokens(cast: Any, client_for: Any, key: str) -> None:
    token, _secret = create_api_token(
        organization=cast.clinics["riverside"],
        name="Keep",
        scope=TokenScope.READ,
        actor=cast["admin_avery"],
    )
    client = client_for(key)
    assert client.get(reverse("clinic:tokens")).status_code == 403
    assert (
        client.post(reverse("clinic:tokens"), {"name": "Mine", "scope": "read"}).status_code == 403
    )
    assert client.post(reverse("clinic:token_revoke", kwargs={"pk": token.pk})).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None and not ApiToken.objects.filter(name="Mine").exists()


def test_an_admin_cannot_revoke_another_clinics_token(cast: Any, client_for: Any) -> None:
    token, _secret = create_api_token(
        organization=cast.clinics["hillside"],
        name="Theirs",
        scope=TokenScope.READ,
        actor=cast["admin_hana"],
    )
    response = client_for("admin_avery").post(
        reverse("clinic:token_revoke", kwargs={"pk": token.pk})
    )
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "Theirs" not in client_for("admin_avery").get(reverse("clinic:tokens")).content.decode()
