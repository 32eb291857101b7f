"""Stepped care: a suggestion, a clinician's decision, the patient told, all audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment, StepChangeStatus, SteppedCareChange
from trellis.care.queries import support_change_notices
from trellis.care.services import suggest_step_change
from trellis.core import timeutil
from trellis.journey.tests.factories import enroll_alex

pytestmark = pytest.mark.django_db


def test_a_coach_suggests_and_a_therapist_confirms_and_the_patient_reads_it_on_today(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    coach = client_for("coach_jordan")
    response = coach.post(
        reverse("caseload:suggest_step", kwargs={"pk": enrollment.pk}),
        {"to_level": "coached", "reason": "Doing well with the exercises on their own"},
    )
    assert response.status_code == 302
    change = SteppedCareChange.objects.get(enrollment=enrollment)
    assert change.suggested_by == cast["coach_jordan"]
    # A coach may not decide.
    assert coach.post(reverse("caseload:confirm_step", kwargs={"pk": change.pk})).status_code == 403
    response = client_for("therapist_maria").post(
        reverse("caseload:confirm_step", kwargs={"pk": change.pk}), {"note": "Agreed"}
    )
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.support_level == "coached"
    change.refresh_from_db()
    assert change.status == StepChangeStatus.CONFIRMED
    assert {"stepped_care.suggest", "stepped_care.confirm"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    today = client_for("patient_alex").get(reverse("journey:today")).content.decode()
    assert "a coach will now check in with you" in today


def test_a_rule_suggests_and_a_supervisor_declines_and_the_level_stays(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll_alex(cast)
    change = suggest_step_change(
        enrollment, to_level="self_guided", reason="Rule: improving", now=timeutil.now()
    )
    assert change.suggested_by is None
    response = client_for("supervisor_ruth").post(
        reverse("caseload:decline_step", kwargs={"pk": change.pk}), {"note": "Too early"}
    )
    assert response.status_code == 302
    assert Enrollment.objects.get(pk=enrollment.pk).support_level == "therapist_assisted"
    assert support_change_notices(enrollment, now=timeutil.now()) == []


def test_an_empty_reason_is_a_400_and_nothing_is_written(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    response = client_for("therapist_maria").post(
        reverse("caseload:suggest_step", kwargs={"pk": enrollment.pk}),
        {"to_level": "coached", "reason": ""},
    )
    assert response.status_code == 400
    assert "Say briefly why" in response.content.decode()
    assert not SteppedCareChange.objects.exists()


def test_confirming_a_change_of_another_caseload_is_404(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    change = suggest_step_change(enrollment, to_level="coached", reason="x", now=timeutil.now())
    url = reverse("caseload:confirm_step", kwargs={"pk": change.pk})
    assert client_for("therapist_sam").post(url).status_code == 404
    assert client_for("therapist_otto").post(url).status_code == 404
    api = client_for("therapist_sam").post(
        f"/api/v1/care/step-changes/{change.pk}/confirm",
        json.dumps({"note": ""}),
        content_type="application/json",
    )
    assert api.status_code == 404
    change.refresh_from_db()
    assert change.status == StepChangeStatus.SUGGESTED


def test_a_second_open_suggestion_is_refused(cast: Any) -> None:
    from django.core.exceptions import ValidationError

    enrollment = enroll_alex(cast)
    suggest_step_change(enrollment, to_level="coached", reason="x", now=timeutil.now())
    with pytest.raises(ValidationError):
        suggest_step_change(enrollment, to_level="self_guided", reason="y", now=timeutil.now())
    assert SteppedCareChange.objects.count() == 1


def test_the_api_suggests_and_confirms(cast: Any, client_for: Any) -> None:
    enrollment = enroll_alex(cast)
    client = client_for("therapist_maria")
    made = client.post(
        f"/api/v1/care/enrollments/{enrollment.pk}/step-changes",
        json.dumps({"to_level": "coached", "reason": "Steady progress"}),
        content_type="application/json",
    )
    assert made.status_code == 201
    done = client.post(
        f"/api/v1/care/step-changes/{made.json()['id']}/confirm",
        json.dumps({"note": ""}),
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["status"] == "confirmed"
