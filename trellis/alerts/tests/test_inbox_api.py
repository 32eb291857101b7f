"""The alerts API: list with filters, acknowledge, resolve, dismiss; same rules as the pages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.alerts.services import raise_alert
from trellis.alerts.tests.helpers import alex_with_maria, casey_self_guided
from trellis.core import timeutil

pytestmark = pytest.mark.django_db
URL = "/api/v1/alerts"


def rule_alert(enrollment: Any, kind: str = AlertKind.INACTIVITY) -> Alert:
    alert = raise_alert(
        enrollment,
        kind=kind,
        severity="medium",
        reason="No activity for 6 days",
        data={"days": 6},
        assigned_to=None,
        now=timeutil.now(),
    )
    assert alert is not None
    return alert


def post(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def test_list_shows_alerts_in_reach_with_reason_and_data(cast: Any, client_for: Any) -> None:
    rule_alert(alex_with_maria(cast))
    rule_alert(casey_self_guided(cast))  # Mood team: not Maria's
    body = client_for("therapist_maria").get(URL).json()
    assert [a["reason"] for a in body] == ["No activity for 6 days"]
    assert body[0]["kind"] == "inactivity"
    assert body[0]["data"] == {"days": 6}
    assert body[0]["patient_name"] == "Alex Rivera"


def test_list_filters_by_kind_and_refuses_unknown_ones(cast: Any, client_for: Any) -> None:
    rule_alert(alex_with_maria(cast))
    client = client_for("therapist_maria")
    assert client.get(URL, {"kind": "deterioration"}).json() == []
    bad = client.get(URL, {"kind": "weather"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "kind"


def test_dismiss_needs_a_reason_and_keeps_it(cast: Any, client_for: Any) -> None:
    alert = rule_alert(alex_with_maria(cast))
    client = client_for("therapist_maria")
    empty = post(client, f"{URL}/{alert.pk}/dismiss", {"reason": " "})
    assert empty.status_code == 422
    assert empty.json()["errors"] == [
        {"field": "reason", "message": "Say why the alert is being dismissed."}
    ]
    done = post(client, f"{URL}/{alert.pk}/dismiss", {"reason": "Told us they are away"})
    assert done.status_code == 200
    assert done.json()["state"] == AlertState.DISMISSED
    assert done.json()["close_reason"] == "Told us they are away"
    again = post(client, f"{URL}/{alert.pk}/resolve", {})
    assert again.status_code == 409


def test_acknowledge_then_resolve(cast: Any, client_for: Any) -> None:
    alert = rule_alert(alex_with_maria(cast))
    client = client_for("coach_jordan")
    assert post(client, f"{URL}/{alert.pk}/acknowledge", {}).json()["state"] == "acknowledged"
    assert post(client, f"{URL}/{alert.pk}/resolve", {"note": "Phoned"}).json()["state"] == (
        "resolved"
    )


def test_an_alert_of_another_caseload_is_a_404(cast: Any, client_for: Any) -> None:
    alert = rule_alert(casey_self_guided(cast))
    response = post(client_for("therapist_maria"), f"{URL}/{alert.pk}/acknowledge", {})
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_patients_get_403(cast: Any, client_for: Any) -> None:
    assert client_for("patient_alex").get(URL).status_code == 403
