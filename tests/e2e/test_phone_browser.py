"""On a phone (390 x 844): a patient's crisis numbers are tap-to-call links, the mood chart
fits the screen with readable labels, and a supporter's menu is one "Menu" button instead
of rows of links."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect
from test_patient_journey import sign_in
from test_supporter_message_browser import enter_code

from trellis.core import timeutil
from trellis.core.testing import current_totp
from trellis.demo import personas
from trellis.journey import services as journey
from trellis.journey.tests.factories import enroll_alex

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_crisis_numbers_are_links_a_thumb_can_tap(cast: personas.Cast, page: Any) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, cast["patient_farah"].email)  # no program yet: the welcome page
    crisis = page.locator("section.crisis")
    expect(crisis).to_be_visible()
    calls = crisis.locator('a[href^="tel:"]')
    assert calls.count() >= 1
    expect(calls.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_mood_chart_fills_the_phone_and_its_labels_are_at_least_12_px(
    cast: personas.Cast, page: Any
) -> None:
    enrollment = enroll_alex(cast)
    for score in (3, 5, 4, 7, 6):
        journey.check_in_mood(
            enrollment,
            actor=cast["patient_alex"],
            score=score,
            note="",
            client_id=uuid.uuid4(),
            now=timeutil.now(),
        )
    page.set_viewport_size(PHONE)
    sign_in(page, cast["patient_alex"].email)
    page.locator("nav.tab-bar").get_by_role("link", name="Mood").click()
    chart = page.locator("svg.mood-chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    main = page.locator("main").bounding_box()
    assert box is not None and main is not None
    assert box["width"] >= main["width"] - 2 * 16  # the chart fills the column
    smallest = page.evaluate(
        "() => Math.min(...[...document.querySelectorAll('svg.mood-chart text')]"
        ".map(t => t.getBoundingClientRect().height))"
    )
    # A text box is about 1.2 times its font size: 12 px text stands at least 14 px tall.
    assert smallest >= 14, smallest
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not page.problems, page.problems


def test_staff_menu_is_one_button_on_a_phone_and_a_row_at_the_desk(
    cast: personas.Cast, page: Any
) -> None:
    maria = cast["therapist_maria"]
    page.set_viewport_size(PHONE)
    sign_in(page, maria.email)
    enter_code(page, current_totp(maria))
    header = page.locator("header.site-header")
    expect(page.locator("nav.top-nav")).to_be_hidden()
    box = header.bounding_box()
    assert box is not None and box["height"] < 80  # one row: name, Menu, Sign out
    menu = page.locator("details.phone-menu")
    expect(menu.get_by_role("link", name="Caseload")).to_be_hidden()
    menu.get_by_text("Menu").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    menu.get_by_role("link", name="Caseload").click()
    expect(page).to_have_url(re.compile(r"/caseload/"))
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.locator("nav.top-nav").get_by_role("link", name="Caseload")).to_be_visible()
    expect(menu).to_be_hidden()
    expect(page.locator("nav.tab-bar")).to_have_count(0)
