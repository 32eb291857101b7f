"""A patient answers PHQ-9 in a real browser: with item 9 answered "Several days" the
crisis resources are at the top of the very page that answers the form; axe-core finds
no serious or critical problem on the questionnaire, result and progress pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from test_patient_journey import AXE, PHONE, STEP_TIMEOUT_MS, _serious_violations, sign_in

from trellis.alerts.models import SafetyEvent
from trellis.core import timeutil
from trellis.core.testing import need_service
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.services import schedule_for_enrollment

pytestmark = pytest.mark.browser


def test_item_9_shows_crisis_resources_on_the_response_page_and_pages_pass_axe(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    if not AXE.exists():
        need_service(False, "axe-core (run `npm ci` for node_modules/axe-core)")
    source = AXE.read_text()
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(hours=1))
    schedule_for_enrollment(enrollment, now=enrollment.started_at)
    # axe is injected as a script, which the page's own Content-Security-Policy would refuse.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, viewport=PHONE)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    problems: dict[str, list[dict[str, Any]]] = {}
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.get_by_role("link", name="Answer Patient Health Questionnaire (PHQ-9)").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Patient Health Questionnaire (PHQ-9)"
        )
        if found := _serious_violations(page, source):
            problems["questionnaire"] = found
        for number in range(1, 9):
            group = page.get_by_role("group", name=re.compile(f"^Question {number} of 10"))
            group.get_by_label("Not at all").check()
        page.get_by_role("group", name=re.compile("^Question 9 of 10")).get_by_label(
            "Several days"
        ).check()
        page.get_by_role("button", name="Send my answers").click()

        crisis = page.locator("main .crisis")
        expect(crisis).to_be_visible()
        expect(crisis).to_contain_text("988")
        expect(crisis).to_contain_text("Your care team has been told")
        # It is the first thing on the page, above the result.
        first = page.evaluate("document.querySelector('main').firstElementChild.className")
        assert "crisis" in first
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for answering")
        expect(page.locator(".score-total")).to_have_text("1 out of 27")
        if found := _serious_violations(page, source):
            problems["result"] = found

        page.get_by_role("link", name="See my progress").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("My progress")
        expect(page.locator("svg.trajectory")).to_be_visible()
        expect(page.locator("table.scores-table caption")).to_have_text("Scores, newest first")
        if found := _serious_violations(page, source):
            problems["progress"] = found
    finally:
        context.close()
    assert not problems, problems
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment, total=1).count() == 1
    assert SafetyEvent.objects.filter(enrollment=enrollment, item="q9", value=1).count() == 1
