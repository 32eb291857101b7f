"""The supervisor's view: caseload sizes, alerts, reply times, minutes; reassigning."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.accounts.models import Organization, Role
from trellis.accounts.services import create_organization, create_person
from trellis.alerts.services import raise_alert
from trellis.audit.models import AuditEvent
from trellis.care.models import CareTeamMember, SupportLevel
from trellis.care.services import enroll
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex, publish_test_pack
from trellis.messaging.services import send_message
from trellis.workspace.queries import supervision_rows

pytestmark = pytest.mark.django_db


def test_supervision_lists_caseload_size_per_supporter(cast: Any, client_for: Any) -> None:
    enroll_alex(cast)
    response = client_for("supervisor_ruth").get(reverse("caseload:supervision"))
    assert response.status_code == 200
    rows = {row["supporter"].pk: row for row in response.context["rows"]}
    assert rows[cast["therapist_maria"].pk]["caseload"] == 1
    assert rows[cast["coach_jordan"].pk]["caseload"] == 0
    assert "No replies yet" in response.content.decode()


def test_a_supervisor_reassigns_a_patient_and_it_is_audited(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("supervisor_ruth").post(
        reverse("caseload:reassign", kwargs={"pk": enrollment.pk}),
        {"to_supporter": str(cast["coach_jordan"].pk)},
    )
    assert response.status_code == 302
    active = CareTeamMember.objects.filter(enrollment=enrollment, active=True)
    assert [m.supporter for m in active] == [cast["coach_jordan"]]
    assert AuditEvent.objects.filter(action="enrollment.reassign").exists()


def test_reassigning_to_someone_outside_the_clinic_is_a_400_and_changes_nothing(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("supervisor_ruth").post(
        reverse("caseload:reassign", kwargs={"pk": enrollment.pk}),
        {"to_supporter": str(cast["therapist_otto"].pk)},
    )
    assert response.status_code == 400
    active = CareTeamMember.objects.filter(enrollment=enrollment, active=True)
    assert [m.supporter for m in active] == [cast["therapist_maria"]]


def test_therapists_may_not_open_supervision_or_reassign(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    client = client_for("therapist_maria")
    assert client.get(reverse("caseload:supervision")).status_code == 403
    url = reverse("caseload:reassign", kwargs={"pk": enrollment.pk})
    assert client.post(url, {"to_supporter": str(cast["coach_jordan"].pk)}).status_code == 403


def lakeside_with_supporters(count: int, now: datetime) -> Organization:
    """A clinic of `count` therapists, each with one patient who wrote a day before the
    therapist's reply (10 minutes of support) and has one open alert."""
    clinic = create_organization(name=f"Lakeside {count}", actor=None)
    version = publish_test_pack()
    for n in range(count):
        therapist = create_person(
            organization=clinic,
            email=f"therapist{n}@lakeside{count}.example",
            full_name=f"Therapist {n}",
            role=Role.THERAPIST,
            actor=None,
        ).user
        patient = create_person(
            organization=clinic,
            email=f"patient{n}@lakeside{count}.example",
            full_name=f"Patient {n}",
            role=Role.PATIENT,
            actor=None,
        ).user
        enrollment = enroll(
            patient=patient,
            program_version=version,
            support_level=SupportLevel.THERAPIST_ASSISTED,
            supporters=[therapist],
            actor=None,
            now=now - timedelta(days=14),
        )
        asked = now - timedelta(days=3)
        send_message(enrollment, sender=patient, body="Hello?", client_id=uuid.uuid4(), now=asked)
        send_message(
            enrollment,
            sender=therapist,
            body="Hello!",
            client_id=uuid.uuid4(),
            now=asked + timedelta(hours=24),
            support_minutes=10,
        )
        raise_alert(
            enrollment,
            kind="inactivity",
            severity="medium",
            reason="No activity for a week",
            assigned_to=therapist,
            now=now,
        )
    return clinic


def test_supervision_costs_the_same_queries_for_1_and_5_supporters(db: None) -> None:
    now = timeutil.now()
    costs = []
    for count in (1, 5):
        clinic = lakeside_with_supporters(count, now)
        with CaptureQueriesContext(connection) as captured:
            rows = supervision_rows([clinic.pk], now=now)
        costs.append(len(captured.captured_queries))
        assert [
            (row["caseload"], row["open_alerts"], row["median_reply_hours"]) for row in rows
        ] == [(1, 1, 24.0)] * count
        assert [row["minutes_per_patient_week"] for row in rows] == [2.5] * count
    assert costs[0] == costs[1]


def test_each_reassign_selector_starts_on_the_patients_current_supporter(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    page = client_for("supervisor_ruth").get(reverse("caseload:supervision")).content.decode()
    start = page.index(f'id="to-{enrollment.pk}"')
    select = page[start : page.index("</select>", start)]
    maria = cast["therapist_maria"]
    assert f'<option value="{maria.pk}" selected>' in select
    assert select.count(" selected") == 1


def test_reassigning_to_the_current_supporter_is_a_400_that_says_nothing_changed(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("supervisor_ruth").post(
        reverse("caseload:reassign", kwargs={"pk": enrollment.pk}),
        {"to_supporter": str(cast["therapist_maria"].pk)},
    )
    assert response.status_code == 400
    assert "already supports" in response.content.decode()
    assert "nothing was changed" in response.content.decode()
    assert not AuditEvent.objects.filter(action="enrollment.reassign").exists()
    active = CareTeamMember.objects.filter(enrollment=enrollment, active=True)
    assert [m.supporter for m in active] == [cast["therapist_maria"]]


def test_submitting_no_choice_is_a_400_and_changes_nothing(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("supervisor_ruth").post(
        reverse("caseload:reassign", kwargs={"pk": enrollment.pk}), {"to_supporter": ""}
    )
    assert response.status_code == 400
    assert "Choose a coach, therapist or supervisor" in response.content.decode()
    active = CareTeamMember.objects.filter(enrollment=enrollment, active=True)
    assert [m.supporter for m in active] == [cast["therapist_maria"]]
