"""A patient reads their notifications in a real browser: the unread ones marked, a
reminder's link that leads where it says and records it opened, mark all read; and the
page passes axe at phone width."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import describe, serious_violations
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex
from trellis.nudges import dispatch, queries, services
from trellis.nudges.models import BlockReason, ContactBlock, Delivery, OutreachSettings
from trellis.nudges.tests.pipeline_helpers import queue_one

pytestmark = pytest.mark.browser


def sign_in(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(personas.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def in_app(cast: personas.Cast, enrollment: Any, key: str, template: str) -> Delivery:
    now = timeutil.now()
    row = queue_one(cast, enrollment, key=key, not_before=now, channel="in_app", template=template)
    return dispatch.deliver(row.pk, now=now)


def test_a_patient_opens_a_reminder_from_the_notifications_page(
    page: Any, cast: personas.Cast, live_server: Any
) -> None:
    alex = cast["patient_alex"]
    enrollment = enroll_alex(cast)
    # Whatever the hour the test runs at, the clinic allows it.
    OutreachSettings.objects.create(
        organization=enrollment.organization, allowed_from=time(0), allowed_until=time(23, 59)
    )
    waiting = in_app(cast, enrollment, "browser:message", "message_waiting")
    in_app(cast, enrollment, "browser:week", "weekly_summary")

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, alex.email)
    page.goto("/notifications/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.get_by_text("You have 2 unread notifications.")).to_be_visible()
    violations = serious_violations(page)
    assert not violations, describe(violations)

    page.get_by_role("link", name="You have a new message").click()
    expect(page).to_have_url(re.compile(r"/messages/$"))
    waiting.refresh_from_db()
    assert waiting.opened_at is not None
    assert queries.unread_count(alex) == 1

    page.goto("/notifications/")
    expect(page.get_by_text("You have 1 unread notification.")).to_be_visible()
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_text("All notifications are marked as read.")).to_be_visible()
    expect(page.get_by_text("You have 0 unread notifications.")).to_be_visible()
    assert queries.unread_count(alex) == 0
    assert not page.problems, page.problems


def test_a_patient_resumes_email_reminders_they_unsubscribed_from(
    page: Any, cast: personas.Cast, live_server: Any
) -> None:
    alex = cast["patient_alex"]
    enroll_alex(cast)
    services.unsubscribe(alex.pk, channel="email", at=timeutil.now())
    services.block(alex, channel="sms", reason=BlockReason.PERMANENT_FAILURE)

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, alex.email)
    page.goto("/notifications/")
    expect(page.get_by_role("heading", name="Paused reminders")).to_be_visible()
    violations = serious_violations(page)
    assert not violations, describe(violations)

    page.get_by_role("button", name="Get reminders by e-mail again").click()
    expect(page.get_by_text("Reminders on that channel will reach you again.")).to_be_visible()
    expect(page.get_by_role("button", name="Get reminders by e-mail again")).to_have_count(0)
    expect(page.get_by_role("button", name="Get reminders by text message again")).to_be_visible()
    assert set(
        ContactBlock.objects.filter(user=alex, lifted_at__isnull=True).values_list(
            "channel", flat=True
        )
    ) == {"sms"}
    assert not page.problems, page.problems
