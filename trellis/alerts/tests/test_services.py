"""Generic alerts (walkthrough, triage), closing alerts, and the inbox's query budget."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.alerts import safety
from trellis.alerts.models import AlertKind, AlertState, Severity
from trellis.alerts.services import close_alert, raise_alert
from trellis.alerts.tests.helpers import (
    T0,
    alex_with_maria,
    blair_coached,
    emery_self_guided,
    item9_alert,
)
from trellis.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_raise_alert_assigns_and_audits_and_keeps_one_open_alert_per_kind(cast: Any) -> None:
    enrollment = blair_coached(cast)
    first = raise_alert(
        enrollment,
        kind=AlertKind.WALKTHROUGH,
        severity=Severity.MEDIUM,
        reason="Low eHEALS score (18): offer a walkthrough",
        data={"eheals": 18},
        assigned_to=cast["coach_jordan"],
        now=T0,
    )
    again = raise_alert(
        enrollment,
        kind=AlertKind.WALKTHROUGH,
        severity=Severity.MEDIUM,
        reason="Low eHEALS score (18): offer a walkthrough",
        data={"eheals": 18},
        assigned_to=cast["coach_jordan"],
        now=T0 + timedelta(minutes=1),
    )
    assert first.pk == again.pk
    assert first.assigned_to == cast["coach_jordan"]
    assert first.escalate_after is None
    assert AuditEvent.objects.filter(action="alert.raised", object_id=str(first.pk)).count() == 1


def test_raise_alert_refuses_safety_alerts_and_empty_reasons(cast: Any) -> None:
    enrollment = blair_coached(cast)
    with pytest.raises(ValidationError):
        raise_alert(
            enrollment,
            kind=AlertKind.SAFETY,
            severity=Severity.URGENT,
            reason="x",
            data={},
            assigned_to=None,
            now=T0,
        )
    with pytest.raises(ValidationError):
        raise_alert(
            enrollment,
            kind=AlertKind.TRIAGE,
            severity=Severity.MEDIUM,
            reason=" ",
            data={},
            assigned_to=None,
            now=T0,
        )


def test_a_safety_alert_cannot_be_dismissed_without_a_note_or_a_reason(cast: Any) -> None:
    alert = item9_alert(alex_with_maria(cast), now=T0)
    maria = cast["therapist_maria"]
    with pytest.raises(ValidationError):
        close_alert(alert, actor=maria, state=AlertState.DISMISSED, reason="Duplicate", now=T0)
    with pytest.raises(ValidationError):
        close_alert(alert, actor=maria, state=AlertState.DISMISSED, note="Called.", now=T0)
    with pytest.raises(PermissionDenied):
        close_alert(
            alert,
            actor=cast["coach_jordan"],
            state=AlertState.RESOLVED,
            note="Called.",
            now=T0,
        )
    closed = close_alert(
        alert, actor=maria, state=AlertState.DISMISSED, note="Called.", reason="Misclick", now=T0
    )
    assert closed.state == AlertState.DISMISSED
    assert closed.action_note == "Called."
    assert safety.escalate_due_alerts(T0 + timedelta(hours=2)) == []


def test_inbox_costs_the_same_queries_for_one_alert_or_three(cast: Any, client_for: Any) -> None:
    client = client_for("therapist_maria")
    item9_alert(alex_with_maria(cast), now=T0)
    client.get(reverse("alerts:inbox"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("alerts:inbox"))
    item9_alert(blair_coached(cast), now=T0)
    item9_alert(emery_self_guided(cast), now=T0)
    with CaptureQueriesContext(connection) as three:
        page = client.get(reverse("alerts:inbox"))
    assert "Alerts (3 urgent)" in page.content.decode()
    assert len(three) == len(one)
