"""The clinic's reminders page in a real browser, as the clinic's admin at phone and desk
size: reached from the clinic settings, free of axe violations in light and dark mode, no
wider than a phone; a rule set outside the clinic's hours is refused with the reason.
Screenshots of each page are left in test-results/ for a person to look at."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from walks import FAILURES, SIZES, sign_in, walk

from trellis.demo import personas
from trellis.nudges import decisions, rules
from trellis.nudges.models import ReminderRule, RuleKind
from trellis.nudges.tests.decision_helpers import enroll_persona, prefer, seeded

pytestmark = pytest.mark.browser


def a_trial_under_way(cast: personas.Cast) -> None:
    riverside = cast.clinics["riverside"]
    rules.ensure_default_rules(riverside)
    ReminderRule.objects.filter(organization=riverside, kind=RuleKind.EXERCISE_TODAY).update(
        send_probability=Decimal("0.5")
    )
    for key in ("patient_alex", "patient_blair"):
        enroll_persona(cast, key)
        prefer(cast[key], reminder_time=time(9, 0))
    decisions.evaluate_rules(datetime(2026, 3, 3, 14, 0, tzinfo=UTC), draws=seeded())


@pytest.mark.parametrize("size", list(SIZES))
def test_an_admin_changes_the_reminders_and_a_rule_outside_hours_is_refused(
    cast: personas.Cast, browser: Any, live_server: Any, size: str
) -> None:
    a_trial_under_way(cast)
    FAILURES.mkdir(exist_ok=True)
    with walk(browser, live_server, "en", size) as tab:
        page = tab.page
        sign_in(tab, cast["admin_avery"])
        page.goto(reverse("clinic:settings"))
        tab.go(reverse("reminders:overview"))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Reminders at Riverside Community Clinic"
        )
        expect(page.get_by_text("Trial: 50% of the time")).to_be_visible()
        tab.check("reminders")
        page.screenshot(path=FAILURES / f"reminders-{size}.png", full_page=True)

        exercise = ReminderRule.objects.get(
            organization=cast.clinics["riverside"], program_key="", kind=RuleKind.EXERCISE_TODAY
        )
        tab.go(reverse("reminders:rule", args=[exercise.pk]))
        tab.check("reminder rule")
        page.get_by_label("Send at").fill("")
        page.get_by_label("Not before").fill("22:00")
        page.get_by_label("Not after").fill("23:00")
        page.get_by_role("button", name="Save rule").click()
        expect(
            page.get_by_text(
                "This rule would send only between 22:00 and 23:00, outside the clinic's "
                "hours 08:00-21:00."
            )
        ).to_be_visible()
        tab.failed_requests[:] = [r for r in tab.failed_requests if not r.startswith("400 ")]
        tab.check("reminder rule refused")
        page.screenshot(path=FAILURES / f"reminder-rule-refused-{size}.png", full_page=True)

        page.get_by_label("Not before").fill("09:00")
        page.get_by_label("Not after").fill("20:00")
        page.get_by_label("Send at").fill("18:30")
        page.get_by_role("button", name="Save rule").click()
        expect(page).to_have_url(re.compile(re.escape(reverse("reminders:overview")) + "$"))
        expect(page.get_by_text("The reminder rule was saved.")).to_be_visible()
        tab.assert_clean()
    exercise.refresh_from_db()
    assert exercise.send_at == time(18, 30)
