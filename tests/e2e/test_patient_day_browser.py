"""A patient's day in a real browser, at phone and desk size, in English and in Finnish:
signing in, Today's step in each of the eight exercise players, a questionnaire, a mood
check-in, a message to the care team and booking a session. Every page visited passes the
walks' checks (tests/e2e/walks.py): axe-core in light and dark mode, no failed request or
console error, no sideways scrolling on a phone, and the page's language."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from walks import WALK_IDS, WALKS, Walk, sign_in, speaks, walk

from trellis.appointments.tests.helpers import maria_every_day
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.models import MoodCheckIn, StepProgress
from trellis.journey.queries import step_states, today
from trellis.journey.samples import SAMPLES as SAMPLE_RESPONSES
from trellis.journey.services import complete_step
from trellis.journey.tests.factories import enroll_alex
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.services import schedule_for_enrollment
from trellis.messaging.models import Message
from trellis.programs.models import Step, StepKind

pytestmark = pytest.mark.browser

PLAYERS = {
    "paced_breathing",
    "grounding",
    "mindfulness",
    "worry_time",
    "thought_record",
    "journaling",
    "behavioural_activation",
    "sleep_diary",
}
# The patient started three weeks ago: the program (two weeks) is behind them, at the pace
# it sets, and its closing questionnaires are due.
STARTED_DAYS_AGO = 20


def _finish_in_the_past(enrollment: Enrollment, step: Step, after: datetime) -> datetime:
    """The patient finished `step` (through the real service) a little after `after`, or
    when it opened if the program made them wait; returns when."""
    state = step_states(enrollment, after)[step.key]
    when = max(after, state.opens_at or after) + timedelta(hours=1)
    if step.kind == StepKind.QUESTIONNAIRE:
        items = 9 if step.instrument == "PHQ-9" else 7
        response: dict[str, Any] = {f"q{n}": 0 for n in range(1, items + 1)}
    elif step.kind == StepKind.REFLECTION:
        response = {"text": "I noticed my shoulders."}
    elif step.kind == StepKind.EXERCISE:
        response = dict(SAMPLE_RESPONSES[step.exercise])
        if step.exercise == "behavioural_activation":
            response["planned_date"] = when.date().isoformat()
    else:
        response = {}
    complete_step(
        enrollment,
        step,
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        response=response,
        duration_s=step.minutes * 60,
        now=when,
    )
    return when


def _each_player_from_today(tab: Walk, enrollment: Enrollment) -> set[str]:
    """Open Today's step from Today while one of the eight players is next; the steps in
    between are finished in the past. Returns the players seen."""
    page = tab.page
    seen: set[str] = set()
    steps = Step.objects.filter(version_id=enrollment.program_version_id).count()
    moment = enrollment.started_at
    for _ in range(steps):
        plan = today(enrollment, timeutil.now())
        if plan.next_step is None:
            break
        step = plan.next_step.step
        if step.kind == StepKind.EXERCISE and step.exercise in PLAYERS:
            page.goto("/today/")
            if not seen:
                tab.check("Today")
            tab.go(f"/steps/{step.key}/")
            expect(page.locator("main form").first).to_be_visible()
            tab.check(f"player: {step.exercise}")
            seen.add(step.exercise)
            start = page.locator("main [data-start]:visible")
            if start.count():
                start.first.click()
                tab.check(f"player: {step.exercise}, running")
            if step.exercise == "journaling":
                _write_and_finish(tab)
                continue
        moment = _finish_in_the_past(enrollment, step, moment)
    return seen


def _write_and_finish(tab: Walk) -> None:
    """The journaling player from start to end in the browser: write, finish, rate."""
    page = tab.page
    form = page.locator("main form.player-form")
    form.locator("textarea[name=text]").fill("A slow walk helped me most this week.")
    form.locator("button[type=submit]:visible").last.click()
    expect(page).to_have_url(re.compile(r"/done/$"))
    tab.check("step done")
    rating = page.locator("main form").filter(has=page.locator("input[name=rating]"))
    rating.locator("input[name=rating][value='4']").check()
    rating.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/today/$"))


def _answer_a_questionnaire(tab: Walk) -> None:
    """From Today, a due questionnaire: the first answer to every question, then send."""
    page = tab.page
    page.goto("/today/")
    link = page.locator('main a[href^="/questionnaires/"]:visible').first
    expect(link).to_be_visible()
    link.click()
    tab.check("questionnaire")
    form = page.locator("main form").filter(has=page.locator("input[type=radio]")).first
    while True:
        for group in form.locator("fieldset").all():
            radios = group.locator("input[type=radio]")
            if radios.count():
                radios.first.check()
        # Simple mode shows one question a screen; otherwise the one button sends.
        form.locator("button[type=submit]").last.click()
        page.wait_for_load_state("load")
        form = page.locator("main form").filter(has=page.locator("input[type=radio]")).first
        if not form.count():
            break
    # The answer is the result page, at the questionnaire's own address.
    expect(page.locator("main input[type=radio]")).to_have_count(0)
    tab.check("questionnaire result")


def _check_in_mood(tab: Walk) -> None:
    page = tab.page
    tab.go("/mood/")
    tab.check("mood")
    page.locator("input[name=score][value='7']").check()
    page.locator("main form").filter(has=page.locator("input[name=score]")).locator(
        "button[type=submit]"
    ).click()
    page.wait_for_load_state("load")
    tab.check("mood saved")


def _write_to_the_care_team(tab: Walk, words: str) -> None:
    page = tab.page
    tab.go("/messages/")
    tab.check("messages")
    page.locator("textarea[name=body]").fill(words)
    page.locator("main form").filter(has=page.locator("textarea[name=body]")).locator(
        "button[type=submit]"
    ).click()
    expect(page.locator("main")).to_contain_text(words)
    tab.check("message sent")


def _book_a_session(tab: Walk) -> None:
    """Sessions, then a day, then a time, then confirm (where the booking page offers the
    forms straight away, the first of them)."""
    page = tab.page
    tab.go("/sessions/")
    tab.check("sessions")
    book = page.locator("main form[action$='/sessions/book/']")
    if not book.count():
        page.locator("main a[href*='/sessions/book/day/']").first.click()
        tab.check("booking: a day's times")
        page.locator("main a[href*='/sessions/book/confirm/']").first.click()
        tab.check("booking: confirm")
    book.first.locator("button[type=submit]").click()
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    tab.check("session booked")


@pytest.mark.parametrize(("language", "size"), WALKS, ids=WALK_IDS)
def test_patients_day(
    browser: Any, cast: personas.Cast, live_server: Any, language: str, size: str
) -> None:
    alex = cast["patient_alex"]
    speaks(alex, language)
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(days=STARTED_DAYS_AGO))
    maria_every_day(cast)
    with walk(browser, live_server, language, size) as tab:
        sign_in(tab, alex)
        expect(tab.page).to_have_url(re.compile(r"/today/$"))

        seen = _each_player_from_today(tab, enrollment)
        assert seen == PLAYERS, f"never reached from Today: {sorted(PLAYERS - seen)}"

        schedule_for_enrollment(enrollment, now=enrollment.started_at)
        _answer_a_questionnaire(tab)
        _check_in_mood(tab)
        _write_to_the_care_team(tab, f"A walk in {language} at {size} size.")
        _book_a_session(tab)
        tab.assert_clean()

    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).exists()
    assert StepProgress.objects.get(enrollment=enrollment, step__exercise="journaling").rating == 4
    assert MoodCheckIn.objects.filter(enrollment=enrollment, score=7).count() == 1
    assert Message.objects.filter(thread__enrollment=enrollment, from_patient=True).count() == 1
    assert enrollment.appointments.count() == 1
