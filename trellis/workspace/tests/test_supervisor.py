"""The supervisor's view: caseload sizes, alerts, reply times, minutes; reassigning."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.care.models import CareTeamMember
from trellis.journey.tests.factories import enroll_alex

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
