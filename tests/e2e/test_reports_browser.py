"""A clinic administrator opens the clinic's reports in a real browser: from the start page
to the reports, then the engagement report and the outcomes report, each with its chart and
its table, at desk size in English and at phone size in Finnish. Every page passes the
walks' checks (tests/e2e/walks.py): axe in light and dark mode, no failed request or
console error, nothing wider than a phone."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from walks import sign_in, speaks, walk

from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey import services as journey
from trellis.journey.tests.factories import enroll_alex

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("language", "size"), [("en", "desk"), ("fi", "phone")])
def test_a_clinic_admin_opens_the_engagement_and_outcome_reports(
    browser: Any, cast: personas.Cast, live_server: Any, language: str, size: str
) -> None:
    avery = cast["admin_avery"]
    speaks(avery, language)
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(days=20))
    journey.check_in_mood(
        enrollment,
        actor=enrollment.patient,
        score=6,
        note="",
        client_id=uuid.uuid4(),
        now=enrollment.started_at + timedelta(days=1),
    )
    clinic = cast.clinics["riverside"].slug
    with walk(browser, live_server, language, size) as tab:
        page = tab.page
        sign_in(tab, avery)
        tab.go(f"/clinic/insights/reports/{clinic}/")
        expect(page).to_have_url(re.compile(rf"/clinic/insights/reports/{clinic}/$"))
        tab.check("reports")
        for name in ("engagement", "outcomes"):
            tab.go(f"/clinic/insights/reports/{clinic}/{name}/")
            expect(page).to_have_url(re.compile(rf"/reports/{clinic}/{name}/$"))
            expect(page.locator("main table").first).to_be_visible()
            expect(page.locator(f"main a[href$='/{name}/csv']").first).to_be_visible()
            tab.check(f"{name} report")
            page.go_back()
        tab.assert_clean()
