"""The questionnaire JSON API: due, answering (201, repeat 200, 422 by field, crisis
resources with a safety answer), scores, outcome and the instrument list."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from trellis.alerts.models import SafetyEvent
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.tests.conftest import all_ones

PREFIX = "/api/v1/measures"


def post(client: Any, enrollment: Enrollment, body: dict[str, Any]) -> Any:
    return client.post(
        f"{PREFIX}/enrollments/{enrollment.pk}/responses",
        data=json.dumps(body),
        content_type="application/json",
    )


def body(code: str, answers: dict[str, Any], client_id: str | None = None) -> dict[str, Any]:
    return {"client_id": client_id or str(uuid.uuid4()), "instrument": code, "answers": answers}


def enrolled_now(cast: Any) -> Enrollment:
    from trellis.journey.tests.factories import enroll_alex

    return enroll_alex(cast, now=timeutil.now() - timedelta(minutes=5))


def test_a_patient_sees_what_is_due_and_answers_it_once(cast: Any, client_for: Any) -> None:
    enrollment = enrolled_now(cast)
    alex = client_for("patient_alex")
    due = alex.get(f"{PREFIX}/enrollments/{enrollment.pk}/due").json()
    assert {d["instrument"] for d in due} == {"eHEALS", "PHQ-9", "GAD-7"}
    gad7 = next(d for d in due if d["instrument"] == "GAD-7")
    sent = body("GAD-7", all_ones(7, 2)) | {"assignment_id": gad7["id"]}
    first = post(alex, enrollment, sent)
    assert first.status_code == 201, first.content
    assert first.json()["total"] == 14 and first.json()["band"] == "Moderate"
    assert first.json()["crisis_resources"] is None
    again = post(alex, enrollment, sent)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    scores = alex.get(f"{PREFIX}/enrollments/{enrollment.pk}/scores").json()
    assert scores["latest"] == {"GAD-7": 14}
    assert [p["total"] for p in scores["series"]["GAD-7"]] == [14]
    outcome = alex.get(f"{PREFIX}/enrollments/{enrollment.pk}/outcome").json()
    assert outcome == {"available": False} | {k: None for k in outcome if k != "available"}


def test_bad_answers_get_422_by_item_and_nothing_is_stored(cast: Any, client_for: Any) -> None:
    enrollment = enrolled_now(cast)
    refused = post(
        client_for("patient_alex"), enrollment, body("GAD-7", {**all_ones(7, 1), "q2": 5})
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"field": "q2", "message": "Please choose one of the answers shown."}
    ]
    assert refused.json()["crisis_resources"] is None
    unknown = post(client_for("patient_alex"), enrollment, body("HADS", all_ones(7)))
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "instrument"
    assert not QuestionnaireResponse.objects.exists()


def test_item9_answered_1_shows_crisis_resources_alerts_and_escalates(
    cast: Any, client_for: Any
) -> None:
    from trellis.alerts.models import Alert
    from trellis.alerts.safety import escalate_due_alerts

    enrollment = enrolled_now(cast)
    answered = post(
        client_for("patient_alex"), enrollment, body("PHQ-9", {**all_ones(9, 0), "q9": 1})
    )
    assert answered.status_code == 201
    assert "988" in answered.json()["crisis_resources"]
    assert answered.json()["safety_rules"] == ["phq9_item9"]
    alert = Alert.objects.get(enrollment=enrollment)
    assert alert.assigned_to == cast["therapist_maria"]
    later = timeutil.now() + timedelta(
        minutes=enrollment.organization.safety_escalation_minutes + 1
    )
    escalate_due_alerts(later)
    alert.refresh_from_db()
    assert alert.escalated_to == cast["supervisor_ruth"]


def test_a_refused_response_with_a_safety_answer_still_carries_crisis_resources(
    cast: Any, client_for: Any
) -> None:
    enrollment = enrolled_now(cast)
    refused = post(client_for("patient_alex"), enrollment, body("PHQ-9", {"q1": 0, "q9": 3}))
    assert refused.status_code == 422
    assert "988" in refused.json()["crisis_resources"]
    assert {e["field"] for e in refused.json()["errors"]} >= {"q2", "q8"}
    assert SafetyEvent.objects.filter(enrollment=enrollment, value=3).count() == 1
    assert not QuestionnaireResponse.objects.exists()


def test_a_supporter_reads_but_cannot_answer(cast: Any, client_for: Any) -> None:
    from trellis.audit.models import AuditEvent

    enrollment = enrolled_now(cast)
    maria = client_for("therapist_maria")
    assert maria.get(f"{PREFIX}/enrollments/{enrollment.pk}/scores").status_code == 200
    assert AuditEvent.objects.filter(action="measures.view", actor_id=cast["therapist_maria"].pk)
    assert post(maria, enrollment, body("GAD-7", all_ones(7))).status_code == 403
    assert (
        client_for("patient_farah").get(f"{PREFIX}/enrollments/{enrollment.pk}/due").status_code
        == 404
    )


def test_the_instrument_list_has_the_published_wording(client_for: Any) -> None:
    listed = client_for("researcher_lee").get(f"{PREFIX}/instruments").json()
    phq9 = next(i for i in listed if i["code"] == "PHQ-9")
    assert phq9["items"][8]["text"].startswith("Thoughts that you would be better off dead")
    assert [o["label"] for o in phq9["items"][0]["options"]][-1] == "Nearly every day"
    assert phq9["loinc_total"] == "44261-6"
