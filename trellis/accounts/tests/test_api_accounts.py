"""The accounts API: the caller, clinics, people and staff invitations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from trellis.accounts.models import Invitation, Role, TokenScope
from trellis.accounts.services.invitations import create_invitation
from trellis.accounts.services.tokens import create_api_token
from trellis.audit.models import AuditEvent
from trellis.core import timeutil


def _token(
    cast: Any, scope: str = TokenScope.READ_WRITE, clinic: str = "riverside"
) -> dict[str, str]:
    admin = cast["admin_avery"] if clinic == "riverside" else cast["admin_hana"]
    _t, secret = create_api_token(
        organization=cast.clinics[clinic], name=f"test {scope}", scope=scope, actor=admin
    )
    return {"Authorization": f"Bearer {secret}"}


def _post(client: Client, path: str, body: Any, **kwargs: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, raw, content_type="application/json", **kwargs)


def _error_shape(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
    return body


def test_me_describes_the_signed_in_person(cast: Any, client_for: Any) -> None:
    body = client_for("therapist_maria").get("/api/v1/me").json()
    assert body["email"] == cast["therapist_maria"].email
    assert body["mfa_verified"] is True
    assert [(m["role"], m["team"]) for m in body["memberships"]] == [("therapist", "Anxiety team")]


def test_me_refuses_a_token_and_anonymous_callers(cast: Any) -> None:
    assert Client().get("/api/v1/me").status_code == 401
    response = Client().get("/api/v1/me", headers=_token(cast))
    assert response.status_code == 403
    _error_shape(response)


def test_people_lists_only_the_callers_reach(cast: Any, client_for: Any) -> None:
    names = {p["full_name"] for p in client_for("coach_jordan").get("/api/v1/people").json()}
    assert {"Alex Rivera", "Blair Nakamura", "Emery Walsh", "Maria Lindqvist"} <= names
    assert not names & {"Casey Brooks", "Devon Achebe", "Farah Haddad", "Otto Lehtinen"}
    mine = client_for("patient_alex").get("/api/v1/people").json()
    assert [p["full_name"] for p in mine] == ["Alex Rivera"]


def test_people_filters_by_role_and_refuses_an_unknown_role(client_for: Any) -> None:
    client = client_for("supervisor_ruth")
    therapists = client.get("/api/v1/people", {"role": "therapist"}).json()
    assert {p["full_name"] for p in therapists} == {"Maria Lindqvist", "Sam Whitaker"}
    response = client.get("/api/v1/people", {"role": "pirate"})
    assert response.status_code == 422
    assert _error_shape(response)["errors"][0]["field"] == "role"


def test_one_person_outside_reach_is_404(cast: Any, client_for: Any) -> None:
    casey = cast.memberships["patient_casey"].pk
    assert client_for("therapist_sam").get(f"/api/v1/people/{casey}").status_code == 200
    response = client_for("therapist_maria").get(f"/api/v1/people/{casey}")
    assert response.status_code == 404
    _error_shape(response)
    assert client_for("therapist_maria").get("/api/v1/people/not-a-uuid").status_code == 422


def test_admin_invites_through_the_api_and_the_email_goes_out(
    cast: Any, client_for: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    team = cast.teams[("riverside", "Anxiety team")]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client_for("admin_avery"),
            "/api/v1/invitations",
            {
                "email": "Quinn.New@Riverside.example",
                "full_name": "Quinn New",
                "role": "coach",
                "team": str(team.pk),
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"], body["team"], body["status"]) == (
        "quinn.new@riverside.example",
        "coach",
        "Anxiety team",
        "open",
    )
    assert "token" not in json.dumps(body)
    assert len(smtp.to("quinn.new@riverside.example")) == 1
    listed = client_for("admin_avery").get("/api/v1/invitations").json()
    assert [i["email"] for i in listed] == ["quinn.new@riverside.example"]


def test_a_read_write_token_invites_for_its_own_clinic(cast: Any) -> None:
    response = _post(
        Client(),
        "/api/v1/invitations",
        {"email": "from.ehr@riverside.example", "role": "therapist"},
        headers=_token(cast),
    )
    assert response.status_code == 201
    invitation = Invitation.objects.get(email="from.ehr@riverside.example")
    assert invitation.organization == cast.clinics["riverside"]
    event = AuditEvent.objects.get(action="invitation.create", object_id=str(invitation.pk))
    assert event.actor_id is None and event.actor_label.startswith("API token trl_")
    hillside = _post(
        Client(),
        "/api/v1/invitations",
        {
            "email": "x@riverside.example",
            "role": "coach",
            "organization": str(cast.clinics["hillside"].pk),
        },
        headers=_token(cast),
    )
    assert hillside.status_code == 404


def test_a_duplicate_open_invitation_is_409(cast: Any, client_for: Any) -> None:
    create_invitation(
        organization=cast.clinics["riverside"],
        email="twice@riverside.example",
        role=Role.COACH,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    response = _post(
        client_for("admin_avery"),
        "/api/v1/invitations",
        {"email": "twice@riverside.example", "role": "coach"},
    )
    assert response.status_code == 409
    assert _error_shape(response)["errors"][0]["field"] == "email"
    assert Invitation.objects.filter(email="twice@riverside.example").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "role": "coach"}, "email"),
        ({"email": "p@patients.example", "role": "patient"}, "role"),
        ({"email": "p@riverside.example", "role": "wizard"}, "role"),
        ({"role": "coach"}, "email"),
        ({"email": "p@riverside.example", "role": "coach", "team": "not-a-uuid"}, "team"),
    ],
)
def test_invalid_invitations_are_422_with_field_errors(
    cast: Any, client_for: Any, body: dict[str, str], field: str
) -> None:
    response = _post(client_for("admin_avery"), "/api/v1/invitations", body)
    assert response.status_code == 422
    assert field in {e["field"] for e in _error_shape(response)["errors"]}
    assert not Invitation.objects.exists()


def test_a_team_of_another_clinic_is_422(cast: Any, client_for: Any) -> None:
    team = cast.teams[("hillside", "Wellbeing team")]
    response = _post(
        client_for("admin_avery"),
        "/api/v1/invitations",
        {"email": "t@riverside.example", "role": "coach", "team": str(team.pk)},
    )
    assert response.status_code == 422
    assert _error_shape(response)["errors"][0]["field"] == "team"


@pytest.mark.parametrize("body", ["{not json", "[1, 2", '"just a string"', "null", "\x00\x01"])
def test_a_malformed_body_is_a_4xx_with_the_error_shape(client_for: Any, body: str) -> None:
    response = _post(client_for("admin_avery"), "/api/v1/invitations", body)
    assert 400 <= response.status_code < 500
    _error_shape(response)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    "key", ["supervisor_ruth", "therapist_maria", "researcher_lee", "patient_alex"]
)
def test_only_admins_and_tokens_use_invitations(cast: Any, client_for: Any, key: str) -> None:
    client = client_for(key)
    assert client.get("/api/v1/invitations").status_code == 403
    response = _post(
        client, "/api/v1/invitations", {"email": "n@riverside.example", "role": "coach"}
    )
    assert response.status_code == 403
    _error_shape(response)
    assert not Invitation.objects.exists()


def test_a_read_only_token_lists_invitations_of_its_clinic_only(cast: Any) -> None:
    for clinic, admin in (("riverside", "admin_avery"), ("hillside", "admin_hana")):
        create_invitation(
            organization=cast.clinics[clinic],
            email=f"new@{clinic}.example",
            role=Role.COACH,
            actor=cast[admin],
            now=timeutil.now(),
        )
    listed = Client().get("/api/v1/invitations", headers=_token(cast, TokenScope.READ)).json()
    assert [i["email"] for i in listed] == ["new@riverside.example"]


def test_the_schema_describes_the_accounts_operations(db: Any) -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/me",
        "/api/v1/people",
        "/api/v1/people/{membership_id}",
        "/api/v1/invitations",
    ):
        assert path in schema["paths"]
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/invitations"])


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR])
@pytest.mark.parametrize("scope", [TokenScope.READ_WRITE, TokenScope.READ])
def test_no_token_can_invite_an_admin_or_a_supervisor(cast: Any, role: str, scope: str) -> None:
    email = f"new.{role}@riverside.example"
    response = _post(
        Client(), "/api/v1/invitations", {"email": email, "role": role}, headers=_token(cast, scope)
    )
    assert response.status_code == 403
    detail = _error_shape(response)["detail"]
    assert "API token" in detail and ("admin" in detail or "read-only" in detail)
    assert not Invitation.objects.filter(email=email).exists()


def test_a_token_may_still_invite_clinicians(cast: Any) -> None:
    for role in (Role.COACH, Role.THERAPIST, Role.RESEARCHER):
        response = _post(
            Client(),
            "/api/v1/invitations",
            {"email": f"new.{role}@riverside.example", "role": role},
            headers=_token(cast),
        )
        assert response.status_code == 201, response.content


def test_the_service_refuses_a_token_inviting_an_admin_whoever_calls_it(cast: Any) -> None:
    from django.core.exceptions import PermissionDenied

    token, _secret = create_api_token(
        organization=cast.clinics["riverside"],
        name="ehr",
        scope=TokenScope.READ_WRITE,
        actor=cast["admin_avery"],
    )
    with pytest.raises(PermissionDenied):
        create_invitation(
            organization=cast.clinics["riverside"],
            email="sneaky.admin@riverside.example",
            role=Role.ADMIN,
            actor=None,
            api_token=token,
            now=timeutil.now(),
        )


@pytest.mark.parametrize("scope", [TokenScope.READ_WRITE, TokenScope.READ])
def test_no_token_can_promote_someone_to_admin(cast: Any, scope: str) -> None:
    from trellis.accounts.models import Membership

    sam = Membership.objects.get(user=cast["therapist_sam"], organization=cast.clinics["riverside"])
    response = Client().patch(
        f"/api/v1/people/{sam.pk}",
        json.dumps({"role": Role.ADMIN}),
        content_type="application/json",
        headers=_token(cast, scope),
    )
    assert response.status_code == 403
    detail = _error_shape(response)["detail"]
    assert "API token" in detail
    sam.refresh_from_db()
    assert sam.role == Role.THERAPIST
