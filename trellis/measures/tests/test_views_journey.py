"""A questionnaire step of a program: the step page shows the questionnaire, and sending
it stores the response through the measures service and completes the step."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.urls import reverse

from trellis.alerts.models import SafetyEvent
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.journey.queries import step_states
from trellis.journey.services import complete_step
from trellis.journey.tests.factories import enroll_alex
from trellis.measures.models import QuestionnaireResponse
from trellis.programs.models import Step

STEP = "weekly-check"  # GAD-7 in the journey test program
BEFORE = {
    "what-stress-does": {},
    "slow-breathing": {"minutes": "2"},
    "first-thoughts": {
        "situation": "A busy morning",
        "automatic_thought": "I will never manage",
        "emotion": "worried",
        "intensity_before": "60",
        "balanced_thought": "I have managed before",
        "intensity_after": "30",
    },
}


@pytest.fixture
def enrollment(cast: personas.Cast) -> Enrollment:
    enrollment = enroll_alex(cast)
    for key, response in BEFORE.items():
        complete_step(
            enrollment,
            Step.objects.get(version_id=enrollment.program_version_id, key=key),
            actor=cast["patient_alex"],
            client_id=uuid.uuid4(),
            response=response,
            duration_s=60,
            now=timeutil.now(),
        )
    state = step_states(enrollment, timeutil.now())[STEP]
    assert state.status != "locked", state.locked_reason
    return enrollment


def gad7(value: int = 1, client_id: str | None = None) -> dict[str, str]:
    data = {f"item-q{n}": str(value) for n in range(1, 8)}
    data["client_id"] = client_id or str(uuid.uuid4())
    return data


def test_the_step_page_shows_the_questionnaire(enrollment: Enrollment, client_for: Any) -> None:
    page = client_for("patient_alex").get(reverse("journey:step", args=[STEP]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<fieldset class="q-item') == 7
    assert f'action="{reverse("journey:complete", args=[STEP])}"' in html
    assert "measures/measures.css" in html


def test_sending_the_step_stores_the_response_and_completes_the_step(
    enrollment: Enrollment, client_for: Any
) -> None:
    alex = client_for("patient_alex")
    page = alex.post(reverse("journey:complete", args=[STEP]), gad7(2))
    assert page.status_code == 200
    html = page.content.decode()
    assert "14 out of 21" in html
    assert "Continue with my program" in html
    response = QuestionnaireResponse.objects.get(enrollment=enrollment)
    assert (response.instrument, response.total) == ("GAD-7", 14)
    assert response.assignment is not None and response.assignment.step is not None
    assert response.assignment.step.key == STEP
    progress = StepProgress.objects.get(enrollment=enrollment, step__key=STEP)
    assert progress.status == ProgressStatus.COMPLETED
    # Afterwards the step says it was answered instead of asking again.
    after = alex.get(reverse("journey:step", args=[STEP])).content.decode()
    assert "You have answered this questionnaire" in after
    assert 'class="q-item' not in after


def test_the_same_step_sent_twice_counts_once(enrollment: Enrollment, client_for: Any) -> None:
    alex = client_for("patient_alex")
    data = gad7(1)
    first = alex.post(reverse("journey:complete", args=[STEP]), data)
    second = alex.post(reverse("journey:complete", args=[STEP]), data)
    assert (first.status_code, second.status_code) == (200, 200)
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 1


def test_an_incomplete_step_is_400_at_each_item_and_completes_nothing(
    enrollment: Enrollment, client_for: Any
) -> None:
    data = gad7(1)
    del data["item-q4"]
    page = client_for("patient_alex").post(reverse("journey:complete", args=[STEP]), data)
    assert page.status_code == 400
    assert "Please choose an answer to question 4." in page.content.decode()
    assert not QuestionnaireResponse.objects.exists()
    assert not StepProgress.objects.filter(
        enrollment=enrollment, step__key=STEP, status=ProgressStatus.COMPLETED
    ).exists()
    assert not SafetyEvent.objects.exists()
