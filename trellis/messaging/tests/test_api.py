"""The messaging JSON API: same permissions as the pages, clear 4xx answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.test import Client

from trellis.care.models import Enrollment
from trellis.care.services import end_enrollment
from trellis.demo import personas
from trellis.messaging.models import Message


def url(enrollment: Enrollment, tail: str) -> str:
    return f"/api/v1/messaging/enrollments/{enrollment.pk}{tail}"


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def test_a_message_is_sent_once_and_read_back_in_the_thread(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    alex = client_for("patient_alex")
    body = {"client_id": str(uuid.uuid4()), "body": "Slept better."}
    first = post(alex, url(alex_enrollment, "/messages"), body)
    again = post(alex, url(alex_enrollment, "/messages"), body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    maria = client_for("therapist_maria")
    thread = maria.get(url(alex_enrollment, "/thread")).json()
    assert [m["body"] for m in thread["messages"]] == ["Slept better."]
    assert thread["reply_within_working_days"] == 2
    assert thread["waiting_since"] is not None
    assert post(maria, url(alex_enrollment, "/read")).json() == {"marked_read": 1}


def test_an_empty_body_is_a_422_on_the_body_field(
    client_for: Any, alex_enrollment: Enrollment
) -> None:
    response = post(
        client_for("patient_alex"),
        url(alex_enrollment, "/messages"),
        {"client_id": str(uuid.uuid4()), "body": "   "},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert not Message.objects.exists()


def test_messaging_an_ended_program_is_a_409_saying_so(
    cast: personas.Cast, client_for: Any, alex_enrollment: Enrollment
) -> None:
    end_enrollment(
        alex_enrollment, status="completed", reason="Finished", actor=cast["therapist_maria"]
    )
    response = post(
        client_for("therapist_maria"),
        url(alex_enrollment, "/messages"),
        {"client_id": str(uuid.uuid4()), "body": "Hello"},
    )
    assert response.status_code == 409
    assert "program has ended" in response.json()["detail"]
    assert not Message.objects.exists()
