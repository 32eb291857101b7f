"""A therapist's day in a real browser, at phone and desk size, in English and in Finnish:
signing in with her code, the caseload, a patient's record, replying to the patient's
message, acknowledging an open safety alert and inviting a new patient. Every page visited
passes the walks' checks (tests/e2e/walks.py): axe-core in light and dark mode, no failed
request or console error, no sideways scrolling on a phone, and the page's language."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from walks import WALK_IDS, WALKS, Walk, sign_in, speaks, walk

from trellis.accounts.models import Invitation
from trellis.alerts.models import Alert, AlertKind
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex, publish_test_pack
from trellis.measures.models import QuestionnaireAssignment
from trellis.measures.services import schedule_for_enrollment, submit_response
from trellis.messaging.models import Message
from trellis.messaging.services import send_message

pytestmark = pytest.mark.browser

NEW_PATIENT = "nina.novak@patients.example"


def _a_patient_who_needs_maria(cast: personas.Cast) -> tuple[Enrollment, Alert]:
    """Alex, ten days in: a message waiting, and "Several days" to PHQ-9 question 9 in this
    week's questionnaire, which raises a safety alert through the safety pathway."""
    now = timeutil.now()
    enrollment = enroll_alex(cast, now=now - timedelta(days=10))
    schedule_for_enrollment(enrollment, now=enrollment.started_at)
    send_message(
        enrollment,
        sender=enrollment.patient,
        body="I found this week really hard.",
        client_id=uuid.uuid4(),
        now=now - timedelta(hours=20),
    )
    due = QuestionnaireAssignment.objects.filter(
        enrollment=enrollment, instrument="PHQ-9", due_from__lte=now, closes_at__gt=now
    ).get()
    answers = {f"q{n}": 1 for n in range(1, 10)}
    submit_response(
        enrollment,
        "PHQ-9",
        actor=enrollment.patient,
        answers=answers,
        client_id=uuid.uuid4(),
        now=now - timedelta(hours=2),
        assignment=due,
    )
    return enrollment, Alert.objects.get(enrollment=enrollment, kind=AlertKind.SAFETY)


def _reply(tab: Walk, enrollment: Enrollment, words: str) -> None:
    page = tab.page
    tab.go(f"/clinic/messages/{enrollment.pk}/")
    expect(page.locator("main")).to_contain_text("I found this week really hard.")
    tab.check("message thread")
    reply = page.locator("main form").filter(has=page.locator("textarea[name=body]"))
    reply.locator("textarea[name=body]").fill(words)
    reply.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(words)
    tab.check("reply sent")


def _acknowledge(tab: Walk, alert: Alert) -> None:
    page = tab.page
    page.goto("/clinic/alerts/")
    tab.check("alerts")
    tab.go(f"/clinic/alerts/{alert.pk}/")
    tab.check("safety alert")
    form = page.locator(f"main form[action$='/clinic/alerts/{alert.pk}/acknowledge/']")
    form.locator("textarea[name=note]").fill("Called Alex; we agreed a safety plan.")
    form.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Called Alex; we agreed a safety plan.")
    tab.check("safety alert acknowledged")


def _invite(tab: Walk, maria: Any) -> None:
    page = tab.page
    page.goto("/")
    tab.go("/clinic/care/patients/invite/")
    tab.check("invite a patient")
    form = page.locator("main form").filter(has=page.locator("input[name=full_name]"))
    form.locator("input[name=email]").fill(NEW_PATIENT)
    form.locator("input[name=full_name]").fill("Nina Novak")
    form.locator("select[name=program]").select_option("test-steady-steps")
    form.locator("input[name=support_level][value=coached]").check()
    form.locator(f"input[name=supporters][value='{maria.pk}']").check()
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages, [role=status]").first).to_contain_text(NEW_PATIENT)
    tab.check("invitation sent")


@pytest.mark.parametrize(("language", "size"), WALKS, ids=WALK_IDS)
def test_supporters_day(
    browser: Any, cast: personas.Cast, live_server: Any, language: str, size: str
) -> None:
    maria = cast["therapist_maria"]
    speaks(maria, language)
    publish_test_pack()
    enrollment, alert = _a_patient_who_needs_maria(cast)
    with walk(browser, live_server, language, size) as tab:
        sign_in(tab, maria)
        expect(tab.page).to_have_url(re.compile(r"/$"))
        tab.check("home")

        tab.go("/clinic/caseload/")
        expect(tab.page.locator("main")).to_contain_text(enrollment.patient.full_name)
        tab.check("caseload")
        tab.go(f"/clinic/caseload/enrollments/{enrollment.pk}/")
        tab.check("patient record")
        _reply(tab, enrollment, f"Thank you for telling me ({language}, {size}).")
        _acknowledge(tab, alert)
        _invite(tab, maria)
        tab.assert_clean()

    assert Message.objects.filter(thread__enrollment=enrollment, from_patient=False).count() == 1
    alert.refresh_from_db()
    assert alert.acknowledged_by == maria
    assert Invitation.objects.filter(email=NEW_PATIENT).count() == 1
