"""An admin suspends someone or changes their role, on the people page or through the API:
in the same transaction, that person's open safety alerts go to the next person."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from trellis.accounts.models import Membership, Role, TokenScope
from trellis.accounts.services.tokens import create_api_token
from trellis.alerts.models import Alert
from trellis.alerts.tests.helpers import T0, alex_with_maria, enroll_patient, item9_alert
from trellis.audit.models import AuditEvent
from trellis.clinic import services as clinic_services
from trellis.core import timeutil

pytestmark = pytest.mark.django_db


def _casey_alert(cast: Any) -> Alert:
    """An open safety alert with therapist_maria; Casey's team (Mood) is on call with Sam."""
    enrollment = enroll_patient(cast, "patient_casey", "therapist_assisted", ("therapist_maria",))
    alert = item9_alert(enrollment, now=T0)
    assert alert.assigned_to == cast["therapist_maria"]
    return alert


def _patch(client: Any, membership: Membership, body: dict[str, Any], **kwargs: Any) -> Any:
    return client.patch(
        f"/api/v1/people/{membership.pk}",
        json.dumps(body),
        content_type="application/json",
        **kwargs,
    )


def _reassigned(alert: Alert) -> AuditEvent:
    return AuditEvent.objects.get(action="safety.reassigned", object_id=str(alert.pk))


# The page ------------------------------------------------------------------------------


def test_suspending_a_therapist_on_the_page_hands_on_their_open_alert(
    cast: Any, client_for: Any
) -> None:
    alert = _casey_alert(cast)
    maria = cast.memberships["therapist_maria"]
    response = client_for("admin_avery").post(
        reverse("clinic:person_active", kwargs={"pk": maria.pk}), {"active": "0"}
    )
    assert response.status_code == 302
    maria.refresh_from_db()
    alert.refresh_from_db()
    assert not maria.is_active
    assert alert.assigned_to == cast["therapist_sam"]
    row = _reassigned(alert)
    assert row.actor_id == cast["admin_avery"].pk
    assert row.details["why"] == "access to the clinic suspended"
    assert AuditEvent.objects.filter(action="membership.suspend").exists()


def test_a_therapist_made_a_coach_on_the_page_hands_on_their_open_alert(
    cast: Any, client_for: Any
) -> None:
    alert = _casey_alert(cast)
    maria = cast.memberships["therapist_maria"]
    response = client_for("admin_avery").post(
        reverse("clinic:person_role", kwargs={"pk": maria.pk}), {"role": Role.COACH}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_sam"]
    assert _reassigned(alert).details["why"] == (
        "role changed from therapist to coach (no safety alerts)"
    )


def test_a_therapist_made_a_supervisor_keeps_their_alerts(cast: Any, client_for: Any) -> None:
    alert = _casey_alert(cast)
    maria = cast.memberships["therapist_maria"]
    client_for("admin_avery").post(
        reverse("clinic:person_role", kwargs={"pk": maria.pk}), {"role": Role.SUPERVISOR}
    )
    maria.refresh_from_db()
    alert.refresh_from_db()
    assert maria.role == Role.SUPERVISOR
    assert alert.assigned_to == cast["therapist_maria"]
    assert not AuditEvent.objects.filter(action="safety.reassigned").exists()


def test_restoring_access_moves_nothing(cast: Any) -> None:
    alert = _casey_alert(cast)
    sam = cast.memberships["therapist_sam"]
    clinic_services.change_access(sam, active=False, actor=cast["admin_avery"], now=timeutil.now())
    clinic_services.change_access(sam, active=True, actor=cast["admin_avery"], now=timeutil.now())
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_maria"]
    assert not AuditEvent.objects.filter(action="safety.reassigned").exists()


def test_a_refused_change_moves_no_alert(cast: Any) -> None:
    alert = _casey_alert(cast)
    maria = cast.memberships["therapist_maria"]
    with pytest.raises(ValidationError):
        clinic_services.change_access(
            maria, active=False, actor=cast["therapist_maria"], now=timeutil.now()
        )
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_maria"]


def test_the_suspension_and_the_handover_are_one_transaction(
    cast: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = _casey_alert(cast)

    def fails(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the handover failed")

    monkeypatch.setattr(clinic_services, "reassign_open_safety_alerts", fails)
    maria = cast.memberships["therapist_maria"]
    with pytest.raises(RuntimeError):
        clinic_services.change_access(
            maria, active=False, actor=cast["admin_avery"], now=timeutil.now()
        )
    assert Membership.objects.get(pk=maria.pk).is_active
    assert not AuditEvent.objects.filter(action="membership.suspend").exists()
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_maria"]


# The API -------------------------------------------------------------------------------


def test_suspending_through_the_api_hands_on_the_open_alert_to_a_supervisor(
    cast: Any, client_for: Any
) -> None:
    # Alex's team (Anxiety) is on call with Maria herself: nobody else, so a supervisor.
    alert = item9_alert(alex_with_maria(cast), now=T0)
    maria = cast.memberships["therapist_maria"]
    response = _patch(client_for("admin_avery"), maria, {"active": False})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["active"] is False and body["membership_id"] == str(maria.pk)
    alert.refresh_from_db()
    assert alert.assigned_to == alert.escalated_to == cast["supervisor_ruth"]
    assert alert.escalated_at is not None
    assert _reassigned(alert).actor_id == cast["admin_avery"].pk


def test_a_role_change_through_the_api_hands_on_the_open_alert(cast: Any, client_for: Any) -> None:
    alert = _casey_alert(cast)
    maria = cast.memberships["therapist_maria"]
    response = _patch(client_for("admin_avery"), maria, {"role": Role.ADMIN})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == Role.ADMIN
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_sam"]


def test_only_a_signed_in_clinic_admin_may_change_access_through_the_api(
    cast: Any, client_for: Any
) -> None:
    alert = _casey_alert(cast)
    maria = cast.memberships["therapist_maria"]
    assert _patch(client_for("supervisor_ruth"), maria, {"active": False}).status_code == 403
    _token, secret = create_api_token(
        organization=cast.clinics["riverside"],
        name="integration",
        scope=TokenScope.READ_WRITE,
        actor=cast["admin_avery"],
    )
    by_token = _patch(
        client_for("admin_avery"),
        maria,
        {"active": False},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert by_token.status_code == 403
    otto = cast.memberships["therapist_otto"]  # Hillside: outside Avery's clinic
    assert _patch(client_for("admin_avery"), otto, {"active": False}).status_code == 404
    empty = _patch(client_for("admin_avery"), maria, {})
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "role"
    assert Membership.objects.get(pk=maria.pk).is_active
    alert.refresh_from_db()
    assert alert.assigned_to == cast["therapist_maria"]
