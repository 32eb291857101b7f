"""The journey JSON API: the patient's own journey, supporters read-only, clear 4xx answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.test import Client

from trellis.care.models import Enrollment
from trellis.engagement.models import EngagementEvent
from trellis.journey.models import StepProgress


def url(enrollment: Enrollment, tail: str = "") -> str:
    return f"/api/v1/journey/enrollments/{enrollment.pk}{tail}"


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def test_a_patient_completes_a_step_and_a_double_submit_counts_once(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    alex = client_for("patient_alex")
    body = {"client_id": str(uuid.uuid4()), "response": {}, "duration_s": 200}
    first = post(alex, url(alex_enrollment, "/steps/what-stress-does/complete"), body)
    second = post(alex, url(alex_enrollment, "/steps/what-stress-does/complete"), body)
    assert first.status_code == 200, first.content
    assert second.json() == first.json()
    assert first.json()["status"] == "completed"
    assert EngagementEvent.objects.filter(type="step_completed").count() == 1
    assert StepProgress.objects.filter(enrollment=alex_enrollment).count() == 1


def test_a_locked_step_answers_409_with_the_reason(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    response = post(
        client_for("patient_alex"),
        url(alex_enrollment, "/steps/first-thoughts/complete"),
        {"client_id": str(uuid.uuid4()), "response": {}},
    )
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Opens after you finish 'Slow breathing'",
        "errors": [],
        "crisis_resources": None,
    }
    assert not EngagementEvent.objects.exists()


def test_a_rating_of_seven_gets_a_message_on_the_rating_field(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    response = post(
        client_for("patient_alex"),
        url(alex_enrollment, "/steps/what-stress-does/rating"),
        {"client_id": str(uuid.uuid4()), "rating": 7},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["rating"]


def test_an_over_long_journal_entry_gets_a_message_on_the_body_field(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    response = post(
        client_for("patient_alex"),
        url(alex_enrollment, "/journal"),
        {"client_id": str(uuid.uuid4()), "body": "x" * 10_001},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


def test_bad_exercise_answers_get_field_messages(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    alex = client_for("patient_alex")
    post(
        alex,
        url(alex_enrollment, "/steps/what-stress-does/complete"),
        {"client_id": str(uuid.uuid4())},
    )
    response = post(
        alex,
        url(alex_enrollment, "/steps/slow-breathing/complete"),
        {"client_id": str(uuid.uuid4()), "response": {"minutes": 99}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "minutes"


def test_today_story_and_journal_for_the_patient(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    alex = client_for("patient_alex")
    today = alex.get(url(alex_enrollment, "/today")).json()
    assert today["chapter_number"] == 1
    assert today["next_step"]["key"] == "what-stress-does"
    post(
        alex,
        url(alex_enrollment, "/steps/what-stress-does/complete"),
        {"client_id": str(uuid.uuid4())},
    )
    post(
        alex,
        url(alex_enrollment, "/journal"),
        {"client_id": str(uuid.uuid4()), "body": "Private thought", "shared": False},
    )
    post(
        alex,
        url(alex_enrollment, "/journal"),
        {"client_id": str(uuid.uuid4()), "body": "For Maria", "shared": True},
    )
    mood = post(alex, url(alex_enrollment, "/moods"), {"client_id": str(uuid.uuid4()), "score": 7})
    assert mood.status_code == 200
    story = alex.get(url(alex_enrollment, "/story")).json()
    assert story["steps_done"] == 1
    assert story["active_days"] == 1
    assert len(alex.get(url(alex_enrollment, "/journal")).json()) == 2
    today = alex.get(url(alex_enrollment, "/today")).json()
    assert today["next_step"]["key"] == "slow-breathing"
    assert today["done_in_chapter"] == 1


def test_a_supporter_reads_but_never_writes_and_sees_only_shared_entries(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    alex = client_for("patient_alex")
    for body, shared in (("Private", False), ("Shared", True)):
        post(
            alex,
            url(alex_enrollment, "/journal"),
            {"client_id": str(uuid.uuid4()), "body": body, "shared": shared},
        )
    maria = client_for("therapist_maria")
    assert maria.get(url(alex_enrollment, "/today")).status_code == 200
    step = maria.get(url(alex_enrollment, "/steps/what-stress-does"))
    assert step.status_code == 200
    assert [e["body"] for e in maria.get(url(alex_enrollment, "/journal")).json()] == ["Shared"]
    refused = post(
        maria,
        url(alex_enrollment, "/steps/what-stress-does/complete"),
        {"client_id": str(uuid.uuid4())},
    )
    assert refused.status_code == 403
    # Her reading wrote no engagement event: events are the patient's actions only.
    assert set(EngagementEvent.objects.values_list("type", flat=True)) == {"journal_entry"}


def test_outside_reach_is_404_and_the_list_is_scoped(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    assert client_for("therapist_otto").get(url(alex_enrollment, "/today")).status_code == 404
    assert client_for("patient_blair").get(url(alex_enrollment, "/story")).status_code == 404
    assert client_for("admin_avery").get(url(alex_enrollment, "/today")).status_code == 404
    listed = client_for("patient_alex").get("/api/v1/journey/enrollments").json()
    assert [e["id"] for e in listed] == [str(alex_enrollment.pk)]
    assert client_for("patient_blair").get("/api/v1/journey/enrollments").json() == []
    assert client_for("admin_avery").get("/api/v1/journey/enrollments").json() == []


def test_the_journey_is_in_the_openapi_schema() -> None:
    from trellis.api import api

    paths = api.get_openapi_schema()["paths"]
    assert "/api/v1/journey/enrollments/{enrollment_id}/steps/{step_key}/complete" in paths
    complete = paths["/api/v1/journey/enrollments/{enrollment_id}/steps/{step_key}/complete"]
    assert 409 in complete["post"]["responses"]
