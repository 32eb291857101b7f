"""A questionnaire step whose instrument the patient answered within its window counts as
done with that answer ("You answered this on Tuesday"); otherwise it is asked; an answer
given anyway is always acted on."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.alerts.models import SafetyEvent
from trellis.care.models import Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.demo import personas
from trellis.engagement.models import EngagementEvent
from trellis.journey import queries
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.journey.services import carry_recent_answers, complete_step
from trellis.journey.tests.factories import PACK, enroll_alex
from trellis.measures.models import QuestionnaireResponse
from trellis.measures.services import submit_response
from trellis.onboarding.services import enroll_patient
from trellis.programs.models import Step
from trellis.programs.services import publish_pack

pytestmark = pytest.mark.django_db
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
    """Alex with the GAD-7 step of the test program open (started 10 days ago, so the
    baseline is open until 3 days ago and the week 1 measure since then)."""
    now = timeutil.now()
    enrollment = enroll_alex(cast, now=now - timedelta(days=10))
    for key, response in BEFORE.items():
        complete_step(
            enrollment,
            Step.objects.get(version_id=enrollment.program_version_id, key=key),
            actor=cast["patient_alex"],
            client_id=uuid.uuid4(),
            response=response,
            duration_s=60,
            now=now - timedelta(days=10),
        )
    assert queries.step_states(enrollment, now)[STEP].status == "available"
    return enrollment


def _answer_gad7(enrollment: Enrollment, days_ago: int, value: int = 1) -> QuestionnaireResponse:
    """A GAD-7 answered `days_ago` days ago (the baseline of getting started)."""
    submitted = submit_response(
        enrollment,
        "GAD-7",
        actor=enrollment.patient,
        answers={f"q{n}": value for n in range(1, 8)},
        client_id=uuid.uuid4(),
        now=timeutil.now() - timedelta(days=days_ago, minutes=-1),
    )
    return submitted.response


def test_a_step_answered_recently_counts_as_done_and_today_says_so(
    enrollment: Enrollment, client_for: Any
) -> None:
    answer = _answer_gad7(enrollment, days_ago=2, value=2)
    alex = client_for("patient_alex")
    today = alex.get(reverse("journey:today")).content.decode()
    assert "counts as done: you answered the same questionnaire recently" in today
    progress = StepProgress.objects.get(enrollment=enrollment, step__key=STEP)
    assert progress.status == ProgressStatus.COMPLETED
    assert progress.response["questionnaire_response"] == str(answer.pk)
    assert progress.response["carried"] is True
    assert EngagementEvent.objects.filter(
        enrollment=enrollment, type="step_completed", step_key=STEP, value="14"
    ).exists()
    # Only one response: nothing was asked twice.
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 1
    page = alex.get(reverse("journey:step", args=[STEP])).content.decode()
    assert "You answered this on " in page
    assert "Your score then: 14" in page
    assert 'class="q-item' not in page


def test_a_step_whose_instrument_was_answered_long_ago_is_asked(
    enrollment: Enrollment, client_for: Any
) -> None:
    _answer_gad7(enrollment, days_ago=7)
    page = client_for("patient_alex").get(reverse("journey:step", args=[STEP]))
    html = page.content.decode()
    assert html.count('<fieldset class="q-item') == 7
    progress = StepProgress.objects.filter(enrollment=enrollment, step__key=STEP).first()
    assert progress is None or progress.status != ProgressStatus.COMPLETED


def test_a_step_never_answered_is_asked(enrollment: Enrollment) -> None:
    assert carry_recent_answers(enrollment, actor=enrollment.patient, now=timeutil.now()) == []


def test_with_the_pages_states_a_visit_with_nothing_to_carry_locks_nothing(
    enrollment: Enrollment,
) -> None:
    now = timeutil.now()
    states = queries.step_states(enrollment, now)
    with CaptureQueriesContext(connection) as ctx:
        assert (
            carry_recent_answers(enrollment, actor=enrollment.patient, now=now, states=states) == []
        )
    statements = [q["sql"].upper() for q in ctx.captured_queries]
    assert not any("FOR UPDATE" in sql or "SAVEPOINT" in sql for sql in statements), statements


def test_with_the_pages_states_an_answer_to_stand_on_is_still_carried(
    enrollment: Enrollment,
) -> None:
    answer = _answer_gad7(enrollment, days_ago=2)
    now = timeutil.now()
    states = queries.step_states(enrollment, now)
    assert states[STEP].status == "available"

    carried = carry_recent_answers(enrollment, actor=enrollment.patient, now=now, states=states)

    assert [step.key for step in carried] == [STEP]
    progress = StepProgress.objects.get(enrollment=enrollment, step__key=STEP)
    assert progress.response["questionnaire_response"] == str(answer.pk)
    assert queries.step_states(enrollment, now)[STEP].status == "completed"


def test_the_apis_today_carries_a_recent_answer_and_shows_the_step_after_it(
    enrollment: Enrollment, client_for: Any
) -> None:
    _answer_gad7(enrollment, days_ago=2)
    today = client_for("patient_alex").get(f"/api/v1/journey/enrollments/{enrollment.pk}/today")
    assert today.status_code == 200
    assert StepProgress.objects.get(enrollment=enrollment, step__key=STEP).status == (
        ProgressStatus.COMPLETED
    )
    assert today.json()["next_step"] is None or today.json()["next_step"]["key"] != STEP


def test_finishing_the_step_with_no_answers_uses_the_recent_answer(enrollment: Enrollment) -> None:
    answer = _answer_gad7(enrollment, days_ago=1)
    progress = complete_step(
        enrollment,
        Step.objects.get(version_id=enrollment.program_version_id, key=STEP),
        actor=enrollment.patient,
        client_id=uuid.uuid4(),
        response={},
        duration_s=None,
        now=timeutil.now(),
    )
    assert progress.response is not None
    assert progress.response["questionnaire_response"] == str(answer.pk)


def test_only_the_patient_carries_their_answers(
    enrollment: Enrollment, cast: personas.Cast
) -> None:
    _answer_gad7(enrollment, days_ago=1)
    assert carry_recent_answers(enrollment, actor=cast["therapist_maria"], now=timeutil.now()) == []
    assert not StepProgress.objects.filter(enrollment=enrollment, step__key=STEP).exists()


@pytest.fixture
def phq9_step_open(cast: personas.Cast, tmp_path: Path) -> Enrollment:
    """Alex in a copy of the test program whose questionnaire step asks the PHQ-9, with
    that step open and a PHQ-9 answered yesterday (item 9: not at all)."""
    pack = tmp_path / "phq9"
    shutil.copytree(PACK, pack)
    text = (pack / "pack.yaml").read_text()
    (pack / "pack.yaml").write_text(text.replace("instrument: GAD-7\n", "instrument: PHQ-9\n", 1))
    now = timeutil.now()
    enrollment = enroll_patient(
        patient=cast["patient_alex"],
        program_version=publish_pack(pack, actor=None),
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=now - timedelta(days=10),
    )
    for key, response in BEFORE.items():
        complete_step(
            enrollment,
            Step.objects.get(version_id=enrollment.program_version_id, key=key),
            actor=enrollment.patient,
            client_id=uuid.uuid4(),
            response=response,
            duration_s=60,
            now=now - timedelta(days=10),
        )
    submit_response(
        enrollment,
        "PHQ-9",
        actor=enrollment.patient,
        answers={f"q{n}": 0 for n in range(1, 10)},
        client_id=uuid.uuid4(),
        now=now - timedelta(days=1),
    )
    return enrollment


def test_an_answer_sent_to_a_step_already_counted_done_is_still_acted_on(
    phq9_step_open: Enrollment, client_for: Any
) -> None:
    """SAFETY: the step counts as done with yesterday's answer, but a questionnaire page
    left open in another tab can still be sent: the answer is taken, its item 9 raises the
    safety event, and the crisis resources are in that very response."""
    alex = client_for("patient_alex")
    alex.get(reverse("journey:today"))
    progress = StepProgress.objects.get(enrollment=phq9_step_open, step__key=STEP)
    assert progress.status == ProgressStatus.COMPLETED and progress.response["carried"]
    data = {f"item-q{n}": "0" for n in range(1, 10)}
    data["item-q9"] = "2"
    data["client_id"] = str(uuid.uuid4())
    page = alex.post(reverse("journey:complete", args=[STEP]), data)
    assert page.status_code == 200
    assert 'class="crisis' in page.content.decode()
    assert SafetyEvent.objects.filter(enrollment=phq9_step_open).count() == 1
    assert QuestionnaireResponse.objects.filter(enrollment=phq9_step_open).count() == 2


def test_a_questionnaire_step_counted_done_does_not_begin_its_chapter() -> None:
    """A chapter that opens with a questionnaire answered recently still opens with its
    introduction: the patient has not begun it yet."""
    carried = queries.StepState(
        step=Step(key="gad7-calming"),
        status="completed",
        progress=StepProgress(status=ProgressStatus.COMPLETED, response={"carried": True}),
    )
    answered = queries.StepState(
        step=Step(key="gad7-calming"),
        status="completed",
        progress=StepProgress(status=ProgressStatus.COMPLETED, response={"total": 4}),
    )
    opened = queries.StepState(step=Step(key="lesson"), status="available")
    assert not queries.chapter_begun([carried, opened])
    assert queries.chapter_begun([answered, opened])
