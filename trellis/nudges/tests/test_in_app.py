"""In-app notifications: the person's own list, unread count, marking read, and a nudge's
link that records it opened and goes where it leads; the same through the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from trellis.engagement.models import EngagementEvent
from trellis.nudges import dispatch, queries
from trellis.nudges.models import Delivery, Notification
from trellis.nudges.tests.pipeline_helpers import alex_with, queue_one

pytestmark = pytest.mark.django_db

TUESDAY = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York


def nudge(cast: Any, key: str, template: str = "message_waiting") -> Delivery:
    enrollment = alex_with(cast, now=TUESDAY)
    row = queue_one(
        cast, enrollment, key=key, not_before=TUESDAY, channel="in_app", template=template
    )
    return dispatch.deliver(row.pk, now=TUESDAY)


def test_the_notifications_page_lists_the_persons_own_unread_first_marked(
    cast: Any, client_for: Any
) -> None:
    nudge(cast, "a")
    nudge(cast, "b", template="exercise_today")
    page = client_for("patient_alex").get("/notifications/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "You have 2 unread notifications." in text
    assert "You have a new message" in text and "Today&#x27;s step is ready" in text
    other = client_for("patient_blair").get("/notifications/").content.decode()
    assert "You have no notifications yet." in other


def test_a_supporter_sees_their_own_notifications_too(cast: Any, client_for: Any) -> None:
    Notification.objects.create(user=cast["therapist_maria"], title="A patient cannot be reached")
    page = client_for("therapist_maria").get("/notifications/")
    assert "A patient cannot be reached" in page.content.decode()


def test_the_unread_count_is_one_query(cast: Any, django_assert_num_queries: Any) -> None:
    nudge(cast, "a")
    nudge(cast, "b")
    alex = cast["patient_alex"]
    with django_assert_num_queries(1):
        assert queries.unread_count(alex) == 2
    assert queries.unread_count(cast["patient_blair"]) == 0


def test_marking_one_read_leaves_the_others_unread(cast: Any, client_for: Any) -> None:
    first = nudge(cast, "a").notification
    nudge(cast, "b")
    response = client_for("patient_alex").post(f"/notifications/{first.pk}/read/")
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.read_at is not None
    assert queries.unread_count(cast["patient_alex"]) == 1


def test_marking_all_read_touches_only_the_persons_own(cast: Any, client_for: Any) -> None:
    nudge(cast, "a")
    Notification.objects.create(user=cast["therapist_maria"], title="For Maria")
    client_for("patient_alex").post("/notifications/read/")
    assert queries.unread_count(cast["patient_alex"]) == 0
    assert queries.unread_count(cast["therapist_maria"]) == 1


def test_nobody_marks_anothers_notification(cast: Any, client_for: Any) -> None:
    notification = nudge(cast, "a").notification
    response = client_for("patient_blair").post(f"/notifications/{notification.pk}/read/")
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_link_records_the_nudge_opened_and_goes_where_it_leads(
    cast: Any, client_for: Any
) -> None:
    delivery = nudge(cast, "a")
    response = client_for("patient_alex").get(f"/n/{delivery.pk}/")
    assert response.status_code == 302
    assert response["Location"] == "/messages/"
    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert delivery.notification.read_at is not None
    events = EngagementEvent.objects.filter(type="reminder_opened")
    assert [e.value for e in events] == ["in_app"]


def test_a_link_opened_signed_out_asks_to_sign_in_first(cast: Any) -> None:
    delivery = nudge(cast, "a")
    response = Client().get(f"/n/{delivery.pk}/")
    assert response.status_code == 302
    assert "/accounts/" in response["Location"]
    delivery.refresh_from_db()
    assert delivery.opened_at is None


def test_nobody_opens_anothers_nudge(cast: Any, client_for: Any) -> None:
    delivery = nudge(cast, "a")
    assert client_for("patient_blair").get(f"/n/{delivery.pk}/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.opened_at is None


# The JSON API -----------------------------------------------------------------------------


def test_the_api_lists_the_callers_notifications_with_the_unread_count(
    cast: Any, client_for: Any
) -> None:
    delivery = nudge(cast, "a")
    body = client_for("patient_alex").get("/api/v1/notifications").json()
    assert body["unread"] == 1
    [item] = body["notifications"]
    assert (item["title"], item["link"], item["read_at"]) == (
        "You have a new message",
        f"/n/{delivery.pk}/",
        None,
    )


def test_the_api_marks_one_and_all_read(cast: Any, client_for: Any) -> None:
    first = nudge(cast, "a").notification
    nudge(cast, "b")
    client = client_for("patient_alex")
    one = client.post(f"/api/v1/notifications/{first.pk}/read")
    assert one.status_code == 200 and one.json()["read_at"] is not None
    assert client.post("/api/v1/notifications/read").json() == {"marked": 1}
    assert queries.unread_count(cast["patient_alex"]) == 0


def test_the_api_answers_404_for_anothers_notification_and_422_for_a_bad_id(
    cast: Any, client_for: Any
) -> None:
    notification = nudge(cast, "a").notification
    client = client_for("patient_blair")
    assert client.post(f"/api/v1/notifications/{notification.pk}/read").status_code == 404
    assert client.post("/api/v1/notifications/not-an-id/read").status_code == 422
