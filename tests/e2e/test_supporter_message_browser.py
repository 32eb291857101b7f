"""A therapist answers a waiting patient from her caseload with a reply template, in a real
browser; the patient then reads the reply on their messages page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from trellis.core import timeutil
from trellis.core.testing import current_totp
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex
from trellis.messaging.models import Message
from trellis.messaging.services import send_message

pytestmark = pytest.mark.browser


def sign_in(page: Any, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(personas.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def enter_code(page: Any, code: str) -> None:
    expect(page).to_have_url(re.compile(r"/accounts/mfa/verify/"))
    page.get_by_label(re.compile(r"^Code")).fill(code)
    page.get_by_role("button", name="Continue").click()


def test_therapist_sends_a_templated_reply_from_the_caseload_and_the_patient_reads_it(
    page: Any, cast: personas.Cast, live_server: Any
) -> None:
    maria, alex = cast["therapist_maria"], cast["patient_alex"]
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(days=10))
    send_message(
        enrollment,
        sender=alex,
        body="I found this week really hard.",
        client_id=uuid.uuid4(),
        now=timeutil.now() - timedelta(days=2, hours=1),
    )

    sign_in(page, maria.email)
    enter_code(page, current_totp(maria))
    page.goto("/clinic/caseload/")
    first = page.locator(".reasons").first
    expect(first).to_contain_text(re.compile(r"message", re.IGNORECASE))
    page.get_by_role("link", name=alex.full_name).first.click()
    expect(page).to_have_url(re.compile(rf"/clinic/caseload/enrollments/{enrollment.pk}/"))

    page.goto(f"/clinic/messages/{enrollment.pk}/")
    expect(page.locator(".message-thread")).to_contain_text("I found this week really hard.")
    page.get_by_role("link", name="When things feel hard").click()
    reply = page.get_by_label("Your reply")
    first_name = alex.display_name.split(" ")[0]
    expect(reply).to_have_value(re.compile(rf"^Hi {first_name}, it sounds like things"))
    reply.fill(reply.input_value() + " Shall we look at the next step together?")
    page.get_by_label("Minutes spent (optional)").fill("5")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text(
        "Your reply is sent."
    )
    sent = Message.objects.get(from_patient=False)
    assert sent.template_key == "empathy-hard-week" and sent.support_minutes == 5
    assert Message.objects.get(from_patient=True).read_at is not None
    assert not page.problems, page.problems

    page.context.clear_cookies()
    sign_in(page, alex.email)
    page.get_by_role("link", name=re.compile(r"^Messages")).first.click()
    expect(page.locator(".message-thread")).to_contain_text(
        "Shall we look at the next step together?"
    )
    expect(page.locator("body")).to_contain_text("usually replies within 2 working days")
    expect(page.locator(".read-receipt").first).to_have_text("Read")
    assert not page.problems, page.problems
