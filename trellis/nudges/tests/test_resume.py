"""Paused reminders on the notifications page: a person sees what stops their reminders
(a STOP, an unsubscribe, an address that failed) and may lift their own unsubscribe or a
failed address's block; a STOP is lifted only by texting START."""

from __future__ import annotations

from typing import Any

import pytest

from trellis.audit.models import AuditEvent
from trellis.core import timeutil
from trellis.nudges import services
from trellis.nudges.models import BlockReason, ContactBlock

pytestmark = pytest.mark.django_db


def in_force(user: Any) -> set[tuple[str, str]]:
    return set(
        ContactBlock.objects.filter(user_id=user.pk, lifted_at__isnull=True).values_list(
            "channel", "reason"
        )
    )


def test_the_page_says_what_is_paused_and_offers_what_the_person_may_lift(
    cast: Any, client_for: Any
) -> None:
    alex = cast["patient_alex"]
    services.unsubscribe(alex.pk, channel="email", at=timeutil.now())
    page = client_for("patient_alex").get("/notifications/").content.decode()
    assert "Paused reminders" in page
    assert "for no more reminders by e-mail" in page
    assert 'name="channel" value="email"' in page
    # Nobody else's page shows it.
    other = client_for("patient_blair").get("/notifications/").content.decode()
    assert "Paused reminders" not in other


def test_a_person_resumes_their_own_email_reminders_audited_as_theirs(
    cast: Any, client_for: Any
) -> None:
    alex = cast["patient_alex"]
    services.unsubscribe(alex.pk, channel="email", at=timeutil.now())
    answer = client_for("patient_alex").post("/notifications/resume/", {"channel": "email"})
    assert answer.status_code == 302
    assert in_force(alex) == set()
    event = AuditEvent.objects.filter(action="nudges.unblock").get()
    assert event.actor_id == alex.pk
    page = client_for("patient_alex").get("/notifications/").content.decode()
    assert "Paused reminders" not in page


def test_an_address_that_failed_may_be_tried_again(cast: Any, client_for: Any) -> None:
    alex = cast["patient_alex"]
    services.block(alex, channel="email", reason=BlockReason.PERMANENT_FAILURE)
    page = client_for("patient_alex").get("/notifications/").content.decode()
    assert "could not be delivered" in page
    client_for("patient_alex").post("/notifications/resume/", {"channel": "email"})
    assert in_force(alex) == set()


def test_a_stop_is_explained_and_not_lifted_from_the_page(cast: Any, client_for: Any) -> None:
    alex = cast["patient_alex"]
    services.block(alex, reason=BlockReason.STOP)
    page = client_for("patient_alex").get("/notifications/").content.decode()
    assert "reply START" in page
    assert 'name="channel"' not in page
    for channel in ("email", "sms", ""):
        client_for("patient_alex").post("/notifications/resume/", {"channel": channel})
    assert in_force(alex) == {("", "stop")}


def test_resuming_lifts_only_the_channel_asked_for(cast: Any, client_for: Any) -> None:
    alex = cast["patient_alex"]
    services.unsubscribe(alex.pk, channel="email", at=timeutil.now())
    services.block(alex, channel="sms", reason=BlockReason.PERMANENT_FAILURE)
    client_for("patient_alex").post("/notifications/resume/", {"channel": "sms"})
    assert in_force(alex) == {("email", "unsubscribed")}


@pytest.mark.parametrize("channel", ["", "in_app", "fax", "email\n"])
def test_a_channel_that_is_never_paused_is_a_400_that_changes_nothing(
    cast: Any, client_for: Any, channel: str
) -> None:
    alex = cast["patient_alex"]
    services.unsubscribe(alex.pk, channel="email", at=timeutil.now())
    answer = client_for("patient_alex").post("/notifications/resume/", {"channel": channel})
    assert answer.status_code == 400
    assert "Choose one of the paused reminders listed." in answer.content.decode()
    assert in_force(alex) == {("email", "unsubscribed")}


def test_resuming_with_nothing_paused_changes_nothing(cast: Any, client_for: Any) -> None:
    answer = client_for("patient_alex").post("/notifications/resume/", {"channel": "email"})
    assert answer.status_code == 302
    assert not AuditEvent.objects.filter(action="nudges.unblock").exists()


def test_resuming_needs_a_post(cast: Any, client_for: Any) -> None:
    assert client_for("patient_alex").get("/notifications/resume/").status_code == 405
