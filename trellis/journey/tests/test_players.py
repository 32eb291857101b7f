"""What the exercise players and simple mode's questionnaire are given by the server.

The browser behaviour (one screen at a time, hidden buttons, read aloud) is in
tests/e2e/test_players_browser.py; these check the page each starts from, which is also
the page a patient without JavaScript uses, and the planned-activity time."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from trellis.alerts.models import SafetyEvent
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.services import set_simple_mode
from trellis.journey.tests.factories import enroll_alex
from trellis.journey.tests.test_views import _open_up_to
from trellis.journey.views.steps import planned_for
from trellis.measures.models import AssignmentStatus, QuestionnaireAssignment
from trellis.measures.services import schedule_for_enrollment
from trellis.programs.models import Step

pytestmark = pytest.mark.django_db


@pytest.fixture
def alex(client_for: Any, alex_enrollment: Enrollment) -> Client:
    client: Client = client_for("patient_alex")
    return client


# A planned activity's time ------------------------------------------------------------------


def test_planned_activity_time_reads_as_a_day_and_a_time() -> None:
    planned = {"planned_date": "2026-12-05", "planned_time": "10:00"}
    assert planned_for(planned) == "Sat 5 Dec, 10:00"


def test_planned_activity_time_uses_the_language_of_the_page() -> None:
    planned = {"planned_date": "2026-12-05", "planned_time": "10:00"}
    with translation.override("es"):
        assert planned_for(planned) == "sáb 5 Dic, 10:00"


@pytest.mark.parametrize(
    ("planned", "shown"),
    [
        ({"planned_date": "2026-12-05"}, "2026-12-05"),
        ({"planned_date": "5.12.2026", "planned_time": "10:00"}, "5.12.2026 10:00"),
        ({}, ""),
    ],
)
def test_a_planned_time_that_cannot_be_read_is_shown_as_it_was_saved(
    planned: dict[str, str], shown: str
) -> None:
    assert planned_for(planned) == shown


def test_the_done_page_and_today_show_the_planned_day_and_time(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _open_up_to(alex_enrollment, steps, "planned-activity")
    response = alex.post(
        reverse("journey:complete", kwargs={"step_key": "planned-activity"}),
        {
            "client_id": str(uuid.uuid4()),
            "activity": "Call a friend",
            "planned_date": "2026-12-05",
            "planned_time": "10:00",
        },
    )
    assert response.status_code == 302
    done = alex.get(response["Location"]).content.decode()
    assert "Sat 5 Dec, 10:00" in done
    assert "2026-12-05" not in done
    today = alex.get(reverse("journey:today")).content.decode()
    assert "Call a friend</strong>, Sat 5 Dec, 10:00" in today


# The players' pages without JavaScript --------------------------------------------------------


def test_thought_record_page_has_every_box_in_one_form_and_its_stepper_hidden(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _open_up_to(alex_enrollment, steps, "first-thoughts")
    html = alex.get(reverse("journey:step", kwargs={"step_key": "first-thoughts"})).content.decode()
    boxes = re.findall(r'<div class="field tr-box" data-tr-box( hidden)?>', html)
    assert len(boxes) == 8 and not any(boxes), "every box shows until the script steps them"
    assert html.count("<form") == 2  # the step's form and Sign out
    assert re.search(r'<div class="steps-nav" data-steps-nav hidden>', html)
    assert 'data-template="Box %(n)s of %(total)s"' in html
    # The number boxes start empty: the slider is drawn by the script from their value.
    assert re.search(r'name="intensity_before"[^>]*value=""', html)


def test_breathing_and_mindfulness_controls_start_hidden_until_the_script_runs(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step]
) -> None:
    _open_up_to(alex_enrollment, steps, "quiet-mind")
    breathing = alex.get(reverse("journey:step", kwargs={"step_key": "slow-breathing"}))
    html = breathing.content.decode()
    assert re.search(r'<div class="pacer" data-pacer hidden', html)
    assert re.search(r'<button type="button" class="secondary" data-stop hidden>', html)
    mindful = alex.get(reverse("journey:step", kwargs={"step_key": "quiet-mind"})).content
    assert b"data-pause hidden>" in mindful


# Simple mode's questionnaire ------------------------------------------------------------------


@pytest.fixture
def phq9_assignment(cast: personas.Cast) -> QuestionnaireAssignment:
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(hours=1))
    schedule_for_enrollment(enrollment, now=enrollment.started_at)
    found = QuestionnaireAssignment.objects.filter(
        enrollment=enrollment,
        instrument="PHQ-9",
        status__in=[AssignmentStatus.PENDING, AssignmentStatus.OVERDUE],
        due_from__lte=timeutil.now(),
    ).first()
    assert found is not None
    return found


def test_questionnaire_is_stepped_only_in_simple_mode(
    client_for: Any, cast: personas.Cast, phq9_assignment: QuestionnaireAssignment
) -> None:
    alex = client_for("patient_alex")
    url = reverse("measures:answer", kwargs={"assignment_id": phq9_assignment.pk})
    plain = alex.get(url).content.decode()
    assert "data-one-at-a-time" not in plain
    assert "measures/questionnaire.js" not in plain

    patient = cast["patient_alex"]
    set_simple_mode(user=patient, enabled=True, actor=patient)
    html = alex.get(url).content.decode()
    assert "data-one-at-a-time" in html
    assert re.search(r'<script src="[^"]*measures/questionnaire\.js" defer></script>', html)
    # Without the script: every question shows, and Back, Next and read aloud do not.
    assert html.count('class="q-item" data-q-item>') == 10
    assert re.search(r"data-steps-nav hidden>", html)
    assert re.search(r'<p class="read-aloud" data-read-aloud hidden', html)
    assert "<script>" not in html and " style=" not in html


def test_a_simple_mode_questionnaire_sends_item_9_to_the_safety_pathway_as_before(
    client_for: Any, cast: personas.Cast, phq9_assignment: QuestionnaireAssignment
) -> None:
    patient = cast["patient_alex"]
    set_simple_mode(user=patient, enabled=True, actor=patient)
    alex = client_for("patient_alex")
    url = reverse("measures:answer", kwargs={"assignment_id": phq9_assignment.pk})
    data = {f"item-q{n}": "0" for n in range(1, 9)}
    data |= {"item-q9": "2", "client_id": str(uuid.uuid4())}
    html = alex.post(url, data, follow=True).content.decode()
    assert 'class="card crisis"' in html
    assert SafetyEvent.objects.filter(item="q9", value=2).count() == 1


def test_a_programs_questionnaire_step_is_stepped_in_simple_mode(
    alex: Client, alex_enrollment: Enrollment, steps: dict[str, Step], cast: personas.Cast
) -> None:
    _open_up_to(alex_enrollment, steps, "weekly-check")
    url = reverse("journey:step", kwargs={"step_key": "weekly-check"})
    assert "data-one-at-a-time" not in alex.get(url).content.decode()
    patient = cast["patient_alex"]
    set_simple_mode(user=patient, enabled=True, actor=patient)
    html = alex.get(url).content.decode()
    assert "data-one-at-a-time" in html
    assert "measures/questionnaire.js" in html
    assert "measures/measures.css" in html
