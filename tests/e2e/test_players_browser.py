"""The eight exercise players and simple mode's questionnaire in a real browser.

Each player shows only the buttons that fit where the patient is (no "Finish now" before
breathing starts, no Back on the first sense, Finish only on the last screen); the thought
record goes one box at a time and its slider and number box agree; a planned activity reads
as a day and a time; simple mode asks a questionnaire one question per screen, can read it
aloud, and still sends one form whose item 9 answer brings up the crisis resources. Without
JavaScript every player and questionnaire is one plain page."""

from __future__ import annotations

import contextlib
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from test_patient_journey import (
    AXE,
    STEP_TIMEOUT_MS,
    _open_every_exercise,
    _serious_violations,
    sign_in,
)

from trellis.alerts.models import SafetyEvent
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.journey.services import set_simple_mode
from trellis.journey.tests.factories import enroll_alex
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.services import schedule_for_enrollment
from trellis.onboarding.tests.onboarding_factories import NEW_EMAIL, NEW_PASSWORD, invite

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TR_BOXES = [
    ("situation", "My friend did not answer my message"),
    ("automatic_thought", "She is angry with me"),
    ("emotion", "worried"),
    ("intensity_before", None),  # set with the slider below
    ("evidence_for", "She usually answers fast"),
    ("evidence_against", "She said she had a busy week"),
    ("balanced_thought", "She is probably busy; I can ask later"),
    ("intensity_after", "30"),
]


def _context(browser: Any, live_server: Any, **options: Any) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, **options)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


def _close(context: Any) -> None:
    """As the page fixture does: let the last request finish before the database is flushed."""
    for tab in context.pages:
        with contextlib.suppress(Exception):
            tab.wait_for_load_state("networkidle", timeout=5_000)
    context.close()
    time.sleep(0.2)


def _csp_problems(page: Any) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    return found


def _button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=name, exact=True)


def test_every_player_shows_only_the_buttons_that_fit_its_state(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = enroll_alex(cast)
    _open_every_exercise(enrollment)
    context = _context(browser, live_server)
    try:
        page = context.new_page()
        errors = _csp_problems(page)
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")

        # Paced breathing: Start before, "Finish now" while running, Finish after.
        page.goto("/steps/slow-breathing/")
        finish = page.locator("form.player-form [data-finish]")
        expect(_button(page, "Start")).to_be_visible()
        expect(page.locator("[data-stop]")).to_be_hidden()
        expect(finish).to_be_visible()
        expect(page.locator("[data-remaining]")).to_have_text("5:00")
        page.get_by_label("How many minutes?").select_option("2")
        expect(page.locator("[data-remaining]")).to_have_text("2:00")
        _button(page, "Start").click()
        expect(page.locator("[data-start]")).to_be_hidden()
        expect(_button(page, "Finish now")).to_be_visible()
        expect(finish).to_be_hidden()
        _button(page, "Finish now").click()
        expect(_button(page, "Start")).to_be_visible()
        expect(page.locator("[data-stop]")).to_be_hidden()
        expect(finish).to_be_visible()
        expect(finish).to_be_focused()

        # Grounding: Next only on the first sense, Back and Next between, Back and Finish last.
        page.goto("/steps/grounding-senses/")
        senses = page.locator("[data-sense]")
        expect(senses).to_have_count(5)
        back, next_ = page.locator("[data-back]"), page.locator("[data-next]")
        expect(page.locator("[data-position]")).to_have_text("Sense 1 of 5")
        expect(senses.nth(0)).to_be_visible()
        for i in range(1, 5):
            expect(senses.nth(i)).to_be_hidden()
        expect(back).to_be_hidden()
        expect(next_).to_be_visible()
        expect(finish).to_be_hidden()
        next_.click()
        expect(page.locator("[data-position]")).to_have_text("Sense 2 of 5")
        expect(senses.nth(0)).to_be_hidden()
        expect(senses.nth(1)).to_be_visible()
        expect(back).to_be_visible()
        expect(next_).to_be_visible()
        expect(finish).to_be_hidden()
        for _ in range(3):
            next_.click()
        expect(page.locator("[data-position]")).to_have_text("Sense 5 of 5")
        expect(back).to_be_visible()
        expect(next_).to_be_hidden()
        expect(finish).to_be_visible()
        back.click()
        expect(finish).to_be_hidden()
        expect(next_).to_be_visible()

        # Mindfulness: Start timer, then Pause, then Start timer again.
        page.goto("/steps/quiet-mind/")
        expect(_button(page, "Start timer")).to_be_visible()
        expect(page.locator("[data-pause]")).to_be_hidden()
        _button(page, "Start timer").click()
        expect(page.locator("[data-start]")).to_be_hidden()
        expect(_button(page, "Pause")).to_be_visible()
        _button(page, "Pause").click()
        expect(_button(page, "Start timer")).to_be_visible()
        expect(page.locator("[data-pause]")).to_be_hidden()

        # Worry time: the list replaces the plain box; each worry has its own Remove.
        page.goto("/steps/worry-later/")
        expect(page.locator("textarea[name=worries]")).to_be_hidden()
        expect(page.get_by_label("A worry to put aside")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
        expect(page.get_by_role("heading", name="Saved for later")).to_be_hidden()
        page.get_by_label("A worry to put aside").fill("The bills")
        _button(page, "Add").click()
        expect(page.get_by_role("button", name="Remove: The bills")).to_be_visible()
        expect(page.get_by_role("heading", name="Saved for later")).to_be_visible()
        page.get_by_role("button", name="Remove: The bills").click()
        expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)

        # Thought record: one box, Next only, on the first screen.
        page.goto("/steps/first-thoughts/")
        expect(page.locator("[data-tr-box]:visible")).to_have_count(1)
        expect(page.locator("[data-back]")).to_be_hidden()
        expect(page.locator("[data-next]")).to_be_visible()
        expect(finish).to_be_hidden()

        # Journaling: a word count as the patient writes.
        page.goto("/steps/free-writing/")
        words = page.locator("[data-words]")
        expect(words).to_be_visible()
        expect(words).to_have_text("0 words")
        page.get_by_label("What helped you most this week?").fill("A long walk helped")
        expect(words).to_have_text("4 words")

        # Behavioural activation: the ideas show, and one fills in the box.
        page.goto("/steps/planned-activity/")
        expect(_button(page, "Call a friend")).to_be_visible()
        _button(page, "Call a friend").click()
        expect(page.get_by_label("What will you do?")).to_have_value("Call a friend")

        # Sleep diary: the hours in bed appear once both times are there.
        page.goto("/steps/sleep-log/")
        in_bed = page.locator("[data-in-bed]")
        expect(in_bed).to_be_hidden()
        page.get_by_label("What time did you get into bed?").fill("23:30")
        expect(in_bed).to_be_hidden()
        page.get_by_label("What time did you get up for the day?").fill("07:00")
        expect(in_bed).to_be_visible()
        expect(in_bed).to_have_text("That is 7 hours 30 minutes in bed.")
    finally:
        _close(context)
    assert not errors, errors


def test_without_javascript_every_player_is_one_plain_page(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = enroll_alex(cast)
    _open_every_exercise(enrollment)
    context = _context(browser, live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        finish = page.locator("form.player-form [data-finish]")

        page.goto("/steps/slow-breathing/")
        expect(page.locator("[data-pacer]")).to_be_hidden()
        expect(page.get_by_label("How many minutes?")).to_be_visible()
        expect(finish).to_be_visible()

        page.goto("/steps/grounding-senses/")
        for i in range(5):
            expect(page.locator("[data-sense]").nth(i)).to_be_visible()
        expect(page.locator("[data-steps-nav]")).to_be_hidden()
        expect(finish).to_be_visible()

        page.goto("/steps/first-thoughts/")
        expect(page.locator("[data-tr-box]")).to_have_count(8)
        for i in range(8):
            expect(page.locator("[data-tr-box]").nth(i)).to_be_visible()
        expect(page.locator("[data-steps-nav]")).to_be_hidden()
        expect(page.locator("input[type=range]")).to_have_count(0)
        expect(finish).to_be_visible()

        page.goto("/steps/quiet-mind/")
        expect(page.locator("[data-timer]")).to_be_hidden()
        expect(page.get_by_label("Minutes you practised")).to_be_visible()

        page.goto("/steps/worry-later/")
        expect(page.locator("textarea[name=worries]")).to_be_visible()
        expect(page.locator("[data-adder]")).to_be_hidden()

        page.goto("/steps/planned-activity/")
        expect(page.locator("[data-suggestions]")).to_be_hidden()
        expect(page.get_by_label("What will you do?")).to_be_visible()
    finally:
        _close(context)


def test_thought_record_goes_one_box_at_a_time_and_sends_every_box_once(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = enroll_alex(cast)
    _open_every_exercise(enrollment)
    StepProgress.objects.filter(enrollment=enrollment, step__key="first-thoughts").delete()
    context = _context(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.goto("/steps/first-thoughts/")
        position = page.locator("[data-position]")
        finish = page.locator("form.player-form [data-finish]")

        # The sliders start with their boxes: both empty, so no handle is shown.
        sliders = page.locator("input.intensity-slider")
        expect(sliders).to_have_count(2)
        for i in range(2):
            expect(sliders.nth(i)).to_have_class(re.compile(r"\bunset\b"))

        for index, (name, value) in enumerate(TR_BOXES):
            expect(position).to_have_text(f"Box {index + 1} of 8")
            field = page.locator(f"[name={name}]")
            expect(field).to_be_visible()
            expect(page.locator("[data-tr-box]:visible")).to_have_count(1)
            if index == 0:
                expect(page.locator("[data-back]")).to_be_hidden()
            else:
                expect(page.locator("[data-back]")).to_be_visible()
            if name == "intensity_before":
                expect(field).to_be_focused()
                slider = page.locator("#tr-intensity_before + input[type=range]")
                slider.fill("65")  # the slider fills in the number...
                expect(field).to_have_value("65")
                expect(slider).not_to_have_class(re.compile(r"\bunset\b"))
                field.fill("72")  # ...and typing moves the slider
                expect(slider).to_have_value("72")
            else:
                field.fill(value or "")
            if index < len(TR_BOXES) - 1:
                expect(finish).to_be_hidden()
                page.locator("[data-next]").click()
        expect(page.locator("[data-next]")).to_be_hidden()
        expect(finish).to_be_visible()
        after = page.locator("#tr-intensity_after + input[type=range]")
        expect(after).to_have_value("30")

        # Back keeps what was typed; Enter in a one-line box moves on instead of sending.
        page.locator("[data-back]").click()
        expect(position).to_have_text("Box 7 of 8")
        for _ in range(4):
            page.locator("[data-back]").click()
        expect(position).to_have_text("Box 3 of 8")
        expect(page.locator("[name=emotion]")).to_have_value("worried")
        page.locator("[name=emotion]").press("Enter")
        expect(position).to_have_text("Box 4 of 8")
        expect(page).to_have_url(re.compile(r"/steps/first-thoughts/$"))
        for _ in range(4):
            page.locator("[data-next]").click()
        finish.click()
        expect(page).to_have_url(re.compile(r"/steps/first-thoughts/done/$"))
    finally:
        _close(context)
    progress = StepProgress.objects.get(enrollment=enrollment, step__key="first-thoughts")
    response = progress.response
    assert response["intensity_before"] == 72
    assert response["intensity_after"] == 30
    assert response["situation"] == "My friend did not answer my message"
    assert response["evidence_against"] == "She said she had a busy week"


def test_a_refused_thought_record_opens_on_the_first_box_to_fix(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = enroll_alex(cast)
    _open_every_exercise(enrollment)
    StepProgress.objects.filter(enrollment=enrollment, step__key="first-thoughts").delete()
    context = _context(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.goto("/steps/first-thoughts/")
        for _ in range(7):
            page.locator("[data-next]").click()
        page.locator("[name=intensity_after]").fill("30")
        page.locator("form.player-form [data-finish]").click()
        expect(page.locator(".message-error")).to_contain_text("Please check the answers")
        expect(page.locator("[data-position]")).to_have_text("Box 1 of 8")
        expect(page.locator("[name=situation]")).to_be_visible()
        expect(page.locator("[name=situation]")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("form.player-form [data-finish]")).to_be_hidden()
    finally:
        _close(context)
    progress = StepProgress.objects.get(enrollment=enrollment, step__key="first-thoughts")
    assert progress.status == ProgressStatus.STARTED  # begun, nothing finished


def test_planned_activity_reads_as_a_day_and_a_time(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = enroll_alex(cast)
    _open_every_exercise(enrollment)
    StepProgress.objects.filter(enrollment=enrollment, step__key="planned-activity").delete()
    context = _context(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.goto("/steps/planned-activity/")
        page.get_by_label("What will you do?").fill("Walk round the block")
        page.get_by_label("Which day?").fill("2026-12-05")
        page.get_by_label("What time?").fill("10:00")
        page.locator("form.player-form [data-finish]").click()
        expect(page).to_have_url(re.compile(r"/steps/planned-activity/done/$"))
        expect(page.locator("main")).to_contain_text("Sat 5 Dec, 10:00")
        expect(page.locator("main")).not_to_contain_text("2026-12-05")
        page.goto("/today/")
        expect(page.locator("main")).to_contain_text("Walk round the block, Sat 5 Dec, 10:00")
    finally:
        _close(context)


def _simple_mode_patient(cast: personas.Cast) -> Enrollment:
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(hours=1))
    schedule_for_enrollment(enrollment, now=enrollment.started_at)
    alex = cast["patient_alex"]
    set_simple_mode(user=alex, enabled=True, actor=alex)
    return enrollment


def test_simple_mode_asks_one_question_per_screen_and_item_9_still_brings_help(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    enrollment = _simple_mode_patient(cast)
    axe = AXE.read_text() if AXE.exists() else None
    # axe is injected as a script, which the page's own Content-Security-Policy would refuse.
    context = _context(browser, live_server, bypass_csp=axe is not None)
    violations: list[Any] = []
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.goto("/questionnaires/")
        page.get_by_role("link", name=re.compile("PHQ-9")).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Patient Health Questionnaire (PHQ-9)"
        )
        items = page.locator("fieldset.q-item")
        expect(items).to_have_count(10)
        expect(page.locator("fieldset.q-item:visible")).to_have_count(1)
        expect(items.nth(0)).to_contain_text("Question 1 of 10")
        back, next_ = _button(page, "Back"), _button(page, "Next")
        send = _button(page, "Send my answers")
        expect(back).to_be_hidden()
        expect(next_).to_be_visible()
        expect(send).to_be_hidden()
        if axe is not None:
            violations += _serious_violations(page, axe)

        # Big targets: each answer and the Back/Next buttons at least 48 px tall.
        for label in items.nth(0).locator(".q-option label").all():
            box = label.bounding_box()
            assert box is not None and box["height"] >= 48, box
        next_box = next_.bounding_box()
        assert next_box is not None and next_box["height"] >= 48, next_box
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # Next without an answer asks for one and stays.
        next_.click()
        expect(page.locator("[data-q-choose]")).to_have_text("Please choose an answer to go on.")
        expect(items.nth(0)).to_be_visible()

        for number in range(1, 10):
            group = page.get_by_role("group", name=re.compile(f"^Question {number} of 10"))
            expect(group).to_be_visible()
            expect(page.locator("fieldset.q-item:visible")).to_have_count(1)
            group.get_by_label("Several days" if number == 9 else "Not at all").check()
            expect(page.locator("[data-q-choose]")).to_be_hidden()
            if number > 1:
                expect(back).to_be_visible()
            expect(send).to_be_hidden()
            next_.click()
        # The last question may be skipped; Send is there in place of Next.
        expect(items.nth(9)).to_be_visible()
        expect(items.nth(9)).to_contain_text("Question 10 of 10")
        expect(next_).to_be_hidden()
        expect(send).to_be_visible()
        back.click()
        expect(items.nth(8).get_by_label("Several days")).to_be_checked()
        next_.click()
        send.click()

        crisis = page.locator("main .crisis")
        expect(crisis).to_be_visible()
        expect(crisis).to_contain_text("Your care team has been told")
        assert "crisis" in page.evaluate(
            "document.querySelector('main').firstElementChild.className"
        )
        expect(page.locator(".score-total")).to_have_text("1 out of 27")
    finally:
        _close(context)
    assert not violations, violations
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment, total=1).count() == 1
    assert SafetyEvent.objects.filter(enrollment=enrollment, item="q9", value=1).count() == 1


def test_read_aloud_speaks_the_question_in_the_page_language_where_the_browser_can(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    _simple_mode_patient(cast)
    context = _context(browser, live_server)
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.goto("/questionnaires/")
        page.get_by_role("link", name=re.compile("PHQ-9")).first.click()
        read = _button(page, "Read this question aloud")
        expect(read).to_be_visible()
        # Record what is handed to the browser's own speech synthesis (and still speak it).
        page.evaluate(
            """() => {
                window.spoken = [];
                const speak = speechSynthesis.speak.bind(speechSynthesis);
                speechSynthesis.speak = (u) => {
                    window.spoken.push({text: u.text, lang: u.lang});
                    speak(u);
                };
            }"""
        )
        read.click()
        spoken = page.evaluate("window.spoken")
        assert len(spoken) == 1
        assert spoken[0]["lang"] == page.evaluate("document.documentElement.lang") == "en"
        text = spoken[0]["text"]
        assert "Little interest or pleasure in doing things" in text
        for answer in ("Not at all", "Several days", "More than half the days"):
            assert answer in text
        page.get_by_label("Not at all").first.check()
        _button(page, "Next").click()
        page.evaluate("speechSynthesis.cancel()")
        page.locator("[data-read]").click()
        second = page.evaluate("window.spoken")[-1]["text"]
        assert "Feeling down, depressed, or hopeless" in second
        assert "Little interest" not in second
    finally:
        _close(context)

    # A browser without speech synthesis gets no button.
    context = _context(browser, live_server)
    context.add_init_script(
        "Object.defineProperty(window, 'speechSynthesis', {value: undefined, configurable: true})"
    )
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        page.goto("/questionnaires/")
        page.get_by_role("link", name=re.compile("PHQ-9")).first.click()
        expect(page.locator("fieldset.q-item:visible")).to_have_count(1)
        expect(page.locator("[data-read-aloud]")).to_be_hidden()
    finally:
        _close(context)


def test_simple_mode_questionnaire_without_javascript_is_the_full_form(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    _simple_mode_patient(cast)
    context = _context(browser, live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, cast["patient_alex"].email)
        expect(page).to_have_url(f"{live_server.url}/today/")
        page.goto("/questionnaires/")
        page.get_by_role("link", name=re.compile("PHQ-9")).first.click()
        expect(page.locator("fieldset.q-item:visible")).to_have_count(10)
        expect(page.locator("[data-steps-nav]")).to_be_hidden()
        expect(page.locator("[data-read-aloud]")).to_be_hidden()
        expect(_button(page, "Send my answers")).to_be_visible()
    finally:
        _close(context)


def test_the_baseline_phq9_in_getting_started_is_one_question_per_screen_in_simple_mode(
    browser: Any, cast: personas.Cast, live_server: Any
) -> None:
    path = invite(cast)
    context = _context(browser, live_server)
    try:
        page = context.new_page()
        page.goto(path)
        page.get_by_label("Your full name").fill("Nina Novak")
        page.locator("input[name=new_password1]").fill(NEW_PASSWORD)
        page.locator("input[name=new_password2]").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Create my account").click()
        expect(page).to_have_url(re.compile(r"/welcome/consent/$"))
        for kind in ("treatment", "data_use", "automation"):
            page.locator(f"#id_{kind}_0").check()
        page.locator("#id_research_1").check()
        page.get_by_role("button", name="Continue").click()

        # eHEALS before simple mode is chosen: the whole form on one page.
        expect(page).to_have_url(re.compile(r"/welcome/health-information/$"))
        expect(page.locator("fieldset.q-item:visible")).to_have_count(8)
        for number in range(1, 9):
            page.locator(f"#item-q{number}-0").check()  # "Strongly disagree": a low score
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Yes, turn simple mode on").check()
        page.get_by_role("button", name="Continue").click()

        expect(page.locator("h1")).to_contain_text("PHQ-9")
        expect(page.locator("body")).to_have_class(re.compile("simple-mode"))
        expect(page.locator("fieldset.q-item:visible")).to_have_count(1)
        send = _button(page, "Continue")
        for number in range(1, 10):
            group = page.get_by_role("group", name=re.compile(f"^Question {number} of 10"))
            expect(group).to_be_visible()
            group.get_by_label("Not at all").check()
            expect(send).to_be_hidden()
            _button(page, "Next").click()
        # The tenth (how difficult) may be skipped.
        expect(page.get_by_role("group", name=re.compile("^Question 10 of 10"))).to_be_visible()
        expect(_button(page, "Next")).to_be_hidden()
        send.click()
        expect(page.locator("h1")).to_contain_text("GAD-7")
        expect(page.locator("fieldset.q-item:visible")).to_have_count(1)
        expect(page.locator(".crisis")).to_have_count(0)
    finally:
        _close(context)
    enrollment = Enrollment.objects.get(patient__email=NEW_EMAIL)
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 2
