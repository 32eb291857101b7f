"""Safety first on every path: the refusal table of docs/safety.md, one test per row and
channel.

Whatever else refuses a submission (the questionnaire closed or was answered in another
tab, the program ended, the page had no client id, getting started moved on, the step is
still locked, other answers are missing), a valid answer about self-harm is stored, its
urgent alert raised, and the crisis resources are in the very same response, on the page
and through the API. Only answers that cannot be read at all are refused without them.

Each test names its row ("R1" ...) as in the table.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.alerts.models import Alert, AlertKind, SafetyEvent
from trellis.care.models import Enrollment, EnrollmentStatus, SupportLevel
from trellis.care.services import end_enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.services import complete_step
from trellis.journey.tests.factories import PACK, enroll_alex
from trellis.measures import services as measures
from trellis.measures.models import AssignmentStatus, QuestionnaireAssignment
from trellis.onboarding import services as onboarding
from trellis.onboarding.services import enroll_patient
from trellis.onboarding.tests.onboarding_factories import (
    EHEALS_SUFFICIENT,
    GAD7_MINIMAL,
    PHQ9_MINIMAL,
    agree_all,
    new_patient,
)
from trellis.programs.models import Step
from trellis.programs.services import publish_pack

pytestmark = pytest.mark.django_db

# "Several days" to question 9, every other question "Not at all".
ITEM9 = {**{f"q{n}": 0 for n in range(1, 9)}, "q9": 1}
ONLY_ITEM9 = {"q9": 2}
CRISIS_HEADING = 'id="crisis-heading"'
STEP = "weekly-check"  # made a PHQ-9 step for these tests
BEFORE_STEP = {
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


# Building blocks ------------------------------------------------------------------------


def page_form(
    answers: dict[str, int], *, client_id: str | None = "new", instrument: str = ""
) -> dict[str, str]:
    data = {f"item-{item}": str(value) for item, value in answers.items()}
    if client_id is not None:
        data["client_id"] = str(uuid.uuid4()) if client_id == "new" else client_id
    if instrument:
        data["instrument"] = instrument
    return data


def api_post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, data=json.dumps(body), content_type="application/json")


def response_body(
    answers: dict[str, int], *, client_id: str | None = "new", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"instrument": "PHQ-9", "answers": answers, **extra}
    if client_id is not None:
        body["client_id"] = str(uuid.uuid4()) if client_id == "new" else client_id
    return body


def responses_url(enrollment: Enrollment) -> str:
    return f"/api/v1/measures/enrollments/{enrollment.pk}/responses"


def step_url(enrollment: Enrollment) -> str:
    return f"/api/v1/journey/enrollments/{enrollment.pk}/steps/{STEP}/complete"


def assert_acted_on(enrollment: Enrollment, *, events: int = 1) -> None:
    """The safety answer was stored and its urgent alert raised (once per submission)."""
    assert SafetyEvent.objects.filter(enrollment=enrollment).count() == events
    assert Alert.objects.filter(enrollment=enrollment, kind=AlertKind.SAFETY).count() == events


def assert_page_shows_crisis(page: Any, status: int) -> str:
    assert page.status_code == status, page.content[:2000]
    html: str = page.content.decode()
    assert CRISIS_HEADING in html
    assert html.index(CRISIS_HEADING) < html.index("<h1")
    return html


def assert_api_crisis(answer: Any, enrollment: Enrollment, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.content
    body: dict[str, Any] = answer.json()
    assert body["crisis_resources"] == measures.crisis_resources(enrollment)
    assert body["crisis_resources"]
    return body


@pytest.fixture
def alex(cast: personas.Cast) -> Enrollment:
    """patient_alex in the test program with the questionnaires planned an hour ago."""
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(hours=1))
    measures.schedule_for_enrollment(enrollment, now=enrollment.started_at)
    return enrollment


@pytest.fixture
def alex_page(client_for: Any) -> Client:
    client: Client = client_for("patient_alex")
    return client


def weekly_phq9(enrollment: Enrollment) -> QuestionnaireAssignment:
    now = timeutil.now()
    found = (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            instrument="PHQ-9",
            status=AssignmentStatus.PENDING,
            due_from__lte=now,
            closes_at__gt=now,
        )
        .order_by("due_from")
        .first()
    )
    assert found is not None
    return found


def answer_without_item9(enrollment: Enrollment, assignment: QuestionnaireAssignment) -> None:
    """The same questionnaire answered first in another tab."""
    measures.submit_response(
        enrollment,
        "PHQ-9",
        actor=enrollment.patient,
        answers={f"q{n}": 0 for n in range(1, 10)},
        client_id=uuid.uuid4(),
        now=timeutil.now(),
        assignment=assignment,
    )


def withdraw(enrollment: Enrollment) -> None:
    end_enrollment(
        enrollment,
        status=EnrollmentStatus.WITHDRAWN,
        reason="The patient withdrew consent (treatment).",
        actor=None,
        now=timeutil.now(),
    )


# The questionnaire page and API ---------------------------------------------------------


def test_r1_page_already_answered_in_another_tab(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    answer_without_item9(alex, assignment)
    page = alex_page.post(reverse("measures:answer", args=[assignment.pk]), page_form(ITEM9))
    html = assert_page_shows_crisis(page, 409)
    assert "already answered" in html
    assert_acted_on(alex)


def test_r1_api_already_answered_in_another_tab(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    answer_without_item9(alex, assignment)
    answer = api_post(
        alex_page, responses_url(alex), response_body(ITEM9, assignment_id=str(assignment.pk))
    )
    body = assert_api_crisis(answer, alex, 422)
    assert "already been answered" in json.dumps(body["errors"])
    assert_acted_on(alex)


def test_r2_page_closed_while_the_form_was_open(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    QuestionnaireAssignment.objects.filter(pk=assignment.pk).update(
        closes_at=timeutil.now() - timedelta(minutes=1)
    )
    page = alex_page.post(reverse("measures:answer", args=[assignment.pk]), page_form(ITEM9))
    html = assert_page_shows_crisis(page, 409)
    assert "has closed" in html
    assert_acted_on(alex)


def test_r2_api_closed_while_the_form_was_open(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    QuestionnaireAssignment.objects.filter(pk=assignment.pk).update(
        closes_at=timeutil.now() - timedelta(minutes=1)
    )
    answer = api_post(
        alex_page, responses_url(alex), response_body(ITEM9, assignment_id=str(assignment.pk))
    )
    body = assert_api_crisis(answer, alex, 422)
    assert "not due" in json.dumps(body["errors"])
    assert_acted_on(alex)


def test_r3_page_program_ended_or_consent_withdrawn(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    withdraw(alex)
    page = alex_page.post(reverse("measures:answer", args=[assignment.pk]), page_form(ITEM9))
    html = assert_page_shows_crisis(page, 409)
    assert "program has ended" in html
    assert_acted_on(alex)
    assert not alex.responses.exists()


def test_r3_api_program_ended_or_consent_withdrawn(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    withdraw(alex)
    answer = api_post(
        alex_page, responses_url(alex), response_body(ITEM9, assignment_id=str(assignment.pk))
    )
    body = assert_api_crisis(answer, alex, 422)
    assert "program has ended" in json.dumps(body["errors"])
    assert_acted_on(alex)


def test_r4_page_without_a_client_id(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    url = reverse("measures:answer", args=[assignment.pk])
    page = alex_page.post(url, page_form(ITEM9, client_id=None))
    html = assert_page_shows_crisis(page, 400)
    assert "out of date" in html
    assert_acted_on(alex)
    # The form comes back with a client id of its own: sending it again stores the
    # response and raises nothing new.
    made = html.split('name="client_id" value="', 1)[1].split('"', 1)[0]
    again = alex_page.post(url, page_form(ITEM9, client_id=made))
    assert_page_shows_crisis(again, 200)
    assert_acted_on(alex)
    assert alex.responses.count() == 1


def test_r4_api_without_a_client_id(alex: Enrollment, alex_page: Client) -> None:
    answer = api_post(alex_page, responses_url(alex), response_body(ITEM9, client_id=None))
    body = assert_api_crisis(answer, alex, 422)
    assert [e["field"] for e in body["errors"]] == ["client_id"]
    assert_acted_on(alex)
    assert not alex.responses.exists()


def test_r5_page_other_answers_missing(alex: Enrollment, alex_page: Client) -> None:
    assignment = weekly_phq9(alex)
    page = alex_page.post(reverse("measures:answer", args=[assignment.pk]), page_form(ONLY_ITEM9))
    html = assert_page_shows_crisis(page, 400)
    assert "Please choose an answer to question 1" in html
    assert_acted_on(alex)


def test_r5_api_other_answers_missing(alex: Enrollment, alex_page: Client) -> None:
    answer = api_post(alex_page, responses_url(alex), response_body(ONLY_ITEM9))
    body = assert_api_crisis(answer, alex, 422)
    assert "q1" in [e["field"] for e in body["errors"]]
    assert_acted_on(alex)


def test_r6_page_a_questionnaire_that_is_not_theirs_cannot_be_read(
    alex: Enrollment, cast: personas.Cast, client_for: Any
) -> None:
    # The page's questions come from the questionnaire in its address: one that is not the
    # patient's has no questions to read the answers against.
    assignment = weekly_phq9(alex)
    blair = client_for("patient_blair")
    page = blair.post(reverse("measures:answer", args=[assignment.pk]), page_form(ITEM9))
    assert page.status_code == 404
    assert CRISIS_HEADING not in page.content.decode()
    assert not SafetyEvent.objects.exists()


def test_r6_api_an_unknown_questionnaire_id_still_has_its_answers_read(
    alex: Enrollment, alex_page: Client
) -> None:
    # The API names the questionnaire in the body, so its answers can be read.
    answer = api_post(
        alex_page, responses_url(alex), response_body(ITEM9, assignment_id=str(uuid.uuid4()))
    )
    body = assert_api_crisis(answer, alex, 422)
    assert [e["field"] for e in body["errors"]] == ["assignment_id"]
    assert_acted_on(alex)


# Getting started -----------------------------------------------------------------------


@pytest.fixture
def newcomer(cast: personas.Cast) -> tuple[Client, Enrollment]:
    """A new patient who has consented and answered eHEALS: at the baseline PHQ-9."""
    client, _patient, enrollment = new_patient(cast)
    assert client.post(reverse("onboarding:consent"), agree_all()).status_code == 302
    eheals = page_form(EHEALS_SUFFICIENT)
    assert client.post(reverse("onboarding:eheals"), eheals).status_code == 302
    return client, enrollment


def baseline_assignment(enrollment: Enrollment) -> QuestionnaireAssignment:
    return QuestionnaireAssignment.objects.get(
        enrollment=enrollment, instrument="PHQ-9", occasion="baseline"
    )


def test_r7_page_getting_started_moved_on_in_another_tab(
    newcomer: tuple[Client, Enrollment],
) -> None:
    client, enrollment = newcomer
    url = reverse("onboarding:baseline")
    assert client.post(url, page_form(PHQ9_MINIMAL, instrument="PHQ-9")).status_code == 302
    assert client.post(url, page_form(GAD7_MINIMAL, instrument="GAD-7")).status_code == 302
    # The PHQ-9 page left open in another tab is sent now, with an answer to question 9.
    page = client.post(url, page_form(ITEM9, instrument="PHQ-9"))
    html = assert_page_shows_crisis(page, 409)
    assert "already moved past these questions" in html
    assert_acted_on(enrollment)


def test_r7_page_answers_are_read_against_the_questions_the_patient_saw(
    newcomer: tuple[Client, Enrollment],
) -> None:
    client, enrollment = newcomer
    url = reverse("onboarding:baseline")
    assert client.post(url, page_form(PHQ9_MINIMAL, instrument="PHQ-9")).status_code == 302
    # Now at GAD-7; a PHQ-9 page sent from another tab is still read as PHQ-9.
    page = client.post(url, page_form(ITEM9, instrument="PHQ-9"))
    assert_page_shows_crisis(page, 409)
    assert SafetyEvent.objects.get(enrollment=enrollment).instrument == "PHQ-9"


def test_r7_api_getting_started_moved_on_in_another_tab(
    newcomer: tuple[Client, Enrollment],
) -> None:
    client, enrollment = newcomer
    assignment = baseline_assignment(enrollment)
    onboarding.submit_baseline(
        enrollment,
        "PHQ-9",
        actor=enrollment.patient,
        answers=PHQ9_MINIMAL,
        client_id=uuid.uuid4(),
        now=timeutil.now(),
    )
    answer = api_post(
        client, responses_url(enrollment), response_body(ITEM9, assignment_id=str(assignment.pk))
    )
    assert_api_crisis(answer, enrollment, 422)
    assert_acted_on(enrollment)


def test_r8_page_getting_started_answers_missing(newcomer: tuple[Client, Enrollment]) -> None:
    client, enrollment = newcomer
    page = client.post(reverse("onboarding:baseline"), page_form(ONLY_ITEM9, instrument="PHQ-9"))
    assert_page_shows_crisis(page, 400)
    assert_acted_on(enrollment)


def test_r8_api_getting_started_answers_missing(newcomer: tuple[Client, Enrollment]) -> None:
    client, enrollment = newcomer
    assignment = baseline_assignment(enrollment)
    answer = api_post(
        client,
        responses_url(enrollment),
        response_body(ONLY_ITEM9, assignment_id=str(assignment.pk)),
    )
    assert_api_crisis(answer, enrollment, 422)
    assert_acted_on(enrollment)


# A program's questionnaire step ---------------------------------------------------------


@pytest.fixture
def step_alex(cast: personas.Cast, tmp_path: Path) -> Enrollment:
    """Alex in a copy of the test program whose questionnaire step asks the PHQ-9 (still
    locked until the steps before it are done)."""
    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    manifest = pack / "pack.yaml"
    text = manifest.read_text()
    text = text.replace("slug: test-steady-steps", "slug: test-steady-steps-phq9", 1)
    text = text.replace("instrument: GAD-7\n", "instrument: PHQ-9\n", 1)
    manifest.write_text(text)
    return enroll_patient(
        patient=cast["patient_alex"],
        program_version=publish_pack(pack, actor=None),
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=timeutil.now(),
    )


@pytest.fixture
def step_open(step_alex: Enrollment) -> Enrollment:
    """...and with the steps before it done, so it is open."""
    for key, response in BEFORE_STEP.items():
        complete_step(
            step_alex,
            Step.objects.get(version_id=step_alex.program_version_id, key=key),
            actor=step_alex.patient,
            client_id=uuid.uuid4(),
            response=response,
            duration_s=60,
            now=timeutil.now(),
        )
    return step_alex


def test_r9_page_the_step_is_still_locked(step_alex: Enrollment, alex_page: Client) -> None:
    page = alex_page.post(reverse("journey:complete", args=[STEP]), page_form(ITEM9))
    html = assert_page_shows_crisis(page, 409)
    assert "Opens after you finish" in html
    assert_acted_on(step_alex)


def test_r9_api_the_step_is_still_locked(step_alex: Enrollment, alex_page: Client) -> None:
    answer = api_post(
        alex_page, step_url(step_alex), {"client_id": str(uuid.uuid4()), "response": ITEM9}
    )
    body = assert_api_crisis(answer, step_alex, 409)
    assert body["detail"].startswith("Opens after you finish")
    assert_acted_on(step_alex)


def test_r10_page_the_program_ended(step_open: Enrollment, alex_page: Client) -> None:
    withdraw(step_open)
    page = alex_page.post(reverse("journey:complete", args=[STEP]), page_form(ITEM9))
    html = assert_page_shows_crisis(page, 409)
    assert "program has ended" in html
    assert_acted_on(step_open)


def test_r10_api_the_program_ended(step_open: Enrollment, alex_page: Client) -> None:
    withdraw(step_open)
    answer = api_post(
        alex_page, step_url(step_open), {"client_id": str(uuid.uuid4()), "response": ITEM9}
    )
    body = assert_api_crisis(answer, step_open, 422)
    assert "program has ended" in json.dumps(body["errors"])
    assert_acted_on(step_open)


def test_r11_page_getting_started_not_finished(step_open: Enrollment, alex_page: Client) -> None:
    onboarding.start_onboarding(step_open, actor=None, now=timeutil.now())
    page = alex_page.post(reverse("journey:complete", args=[STEP]), page_form(ITEM9))
    html = assert_page_shows_crisis(page, 409)
    assert "finish getting started" in html
    assert_acted_on(step_open)


def test_r11_api_getting_started_is_not_checked_and_the_step_is_stored(
    step_open: Enrollment, alex_page: Client
) -> None:
    # The API does not walk a patient through getting started: the step is completed,
    # and the crisis resources come with it.
    onboarding.start_onboarding(step_open, actor=None, now=timeutil.now())
    answer = api_post(
        alex_page, step_url(step_open), {"client_id": str(uuid.uuid4()), "response": ITEM9}
    )
    body = assert_api_crisis(answer, step_open, 200)
    assert body["status"] == "completed"
    assert_acted_on(step_open)


def test_r12_page_step_without_a_client_id(step_open: Enrollment, alex_page: Client) -> None:
    page = alex_page.post(
        reverse("journey:complete", args=[STEP]), page_form(ITEM9, client_id=None)
    )
    html = assert_page_shows_crisis(page, 400)
    assert "out of date" in html
    assert_acted_on(step_open)


def test_r12_api_step_without_a_client_id(step_open: Enrollment, alex_page: Client) -> None:
    answer = api_post(alex_page, step_url(step_open), {"response": ITEM9})
    body = assert_api_crisis(answer, step_open, 422)
    assert [e["field"] for e in body["errors"]] == ["client_id"]
    assert_acted_on(step_open)


def test_r13_page_step_answers_missing(step_open: Enrollment, alex_page: Client) -> None:
    page = alex_page.post(reverse("journey:complete", args=[STEP]), page_form(ONLY_ITEM9))
    html = assert_page_shows_crisis(page, 400)
    assert "Please choose an answer to question 1" in html
    assert_acted_on(step_open)


def test_r13_api_step_answers_missing(step_open: Enrollment, alex_page: Client) -> None:
    answer = api_post(
        alex_page, step_url(step_open), {"client_id": str(uuid.uuid4()), "response": ONLY_ITEM9}
    )
    body = assert_api_crisis(answer, step_open, 422)
    assert "q1" in [e["field"] for e in body["errors"]]
    assert_acted_on(step_open)


# Answers that cannot be read: refused without the crisis resources -----------------------


def test_u1_api_an_unknown_questionnaire(alex: Enrollment, alex_page: Client) -> None:
    answer = api_post(
        alex_page, responses_url(alex), {**response_body(ITEM9), "instrument": "NOPE-1"}
    )
    assert answer.status_code == 422
    assert answer.json()["crisis_resources"] is None
    assert not SafetyEvent.objects.exists()


@pytest.mark.parametrize("who", ["therapist_maria", None])
def test_u2_page_someone_other_than_the_patient(
    alex: Enrollment, client_for: Any, who: str | None
) -> None:
    client = client_for(who) if who else Client()
    page = client.post(reverse("measures:answer", args=[weekly_phq9(alex).pk]), page_form(ITEM9))
    assert page.status_code in (403, 302)
    if who is None:
        assert page["Location"].startswith(reverse("accounts:login"))
    assert not SafetyEvent.objects.exists()


@pytest.mark.parametrize("who", ["therapist_maria", None])
def test_u2_api_someone_other_than_the_patient(
    alex: Enrollment, client_for: Any, who: str | None
) -> None:
    client = client_for(who) if who else Client()
    answer = api_post(client, responses_url(alex), response_body(ITEM9))
    assert answer.status_code == (403 if who else 401)
    assert not SafetyEvent.objects.exists()
