"""The main menu at both sizes: the full row of links for the desk, and on a phone a tab bar
for patients (the places they go most, then "More") or a "Menu" disclosure for staff."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from django.urls import reverse

from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex
from trellis.messaging import services as messaging


def _between(page: str, start: str, end: str) -> str:
    begin = page.index(start)
    return page[begin : page.index(end, begin)]


def _tab_bar(page: str) -> str:
    return _between(page, '<nav class="tab-bar"', "</nav>")


def test_a_patient_gets_four_tabs_then_more_with_the_rest(cast: personas.Cast, client_for):
    enroll_alex(cast)
    page = client_for("patient_alex").get(reverse("journey:today")).content.decode()
    bar = _tab_bar(page)
    tabs = re.findall(r'<a class="tab" href="([^"]+)"', bar)
    assert tabs == [
        reverse("journey:today"),
        reverse("journey:story"),
        reverse("journey:mood"),
        reverse("messaging:mine"),
    ]
    more = _between(bar, '<ul class="more-menu">', "</ul>")
    for name in ("journey:journal", "measures:progress", "sessions:mine", "accounts:security"):
        assert reverse(name) in more
    assert reverse("journey:today") not in more
    # Each tab has an icon (hidden from screen readers) and a label under it.
    assert bar.count('class="tab-icon"') == 5 and bar.count('aria-hidden="true"') == 5
    assert ">Today</span>" in bar and ">More</span>" in bar


def test_the_current_tab_is_marked_and_a_page_under_more_marks_more(
    cast: personas.Cast, client_for
):
    enroll_alex(cast)
    alex = client_for("patient_alex")
    mood = _tab_bar(alex.get(reverse("journey:mood")).content.decode())
    assert re.findall(r'href="([^"]+)" aria-current="page"', mood) == [reverse("journey:mood")]
    assert "tab-current" not in mood
    sessions = _tab_bar(alex.get(reverse("sessions:mine")).content.decode())
    assert 'class="tab tab-current"' in sessions
    assert re.findall(r'href="([^"]+)" aria-current="page"', sessions) == [reverse("sessions:mine")]


def test_unread_messages_show_as_a_count_on_the_messages_tab(cast: personas.Cast, client_for):
    enrollment = enroll_alex(cast)
    messaging.send_message(
        enrollment,
        sender=cast["therapist_maria"],
        body="How did the breathing go?",
        client_id=uuid.uuid4(),
        now=timeutil.now(),
    )
    bar = _tab_bar(client_for("patient_alex").get(reverse("journey:today")).content.decode())
    assert re.search(
        r'Messages <span class="tab-count"><span class="visually-hidden">\(</span>1'
        r'<span class="visually-hidden"> new\)</span>',
        bar,
    )


def test_staff_get_a_menu_disclosure_and_no_tab_bar(client_for: Any) -> None:
    page = client_for("therapist_maria").get(reverse("clinic:home")).content.decode()
    assert 'class="tab-bar"' not in page
    menu = _between(page, '<details class="phone-menu">', "</details>")
    assert "<summary>Menu</summary>" in menu
    for name in ("caseload:list", "sessions:clinic", "alerts:inbox", "accounts:security"):
        assert reverse(name) in menu
    top = _between(page, '<nav class="top-nav"', "</nav>")
    assert reverse("caseload:list") in top


def test_the_stylesheet_shows_one_menu_per_size_and_keeps_pages_clear_of_the_bar() -> None:
    css = (Path(__file__).parents[2] / "static/trellis/trellis.css").read_text(encoding="utf-8")
    phone = css[css.index("@media (max-width: 55.99rem)") :]
    assert ".tab-bar, .phone-menu { display: none; }" in css
    assert ".top-nav { display: none; }" in phone
    assert "body:has(.tab-bar) { padding-bottom: calc(" in phone
    assert "env(safe-area-inset-bottom)" in phone
