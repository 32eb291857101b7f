"""The demo clinic's caseload shows an alert of every kind, and seeding again adds none."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from trellis.alerts.models import Alert, AlertKind

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_demo_caseload_has_an_alert_of_every_kind_once() -> None:
    call_command("demo", "--no-serve", stdout=StringIO(), stderr=StringIO())
    kinds = set(Alert.objects.values_list("kind", flat=True))
    assert kinds >= set(AlertKind.values) - {AlertKind.STEP_CHANGE}
    deterioration = Alert.objects.get(kind=AlertKind.DETERIORATION)
    assert deterioration.reason == "PHQ-9 up 7 points since the start"
    assert deterioration.enrollment.patient.full_name == "Alex Rivera"
    count = Alert.objects.count()
    call_command("demo", "--no-serve", stdout=StringIO(), stderr=StringIO())
    assert Alert.objects.count() == count
