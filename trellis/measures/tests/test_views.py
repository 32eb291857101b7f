"""The questionnaire pages: answering, the result with crisis resources, bad input,
questionnaires that are not open, progress for the patient and for their care team."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from trellis.alerts.models import SafetyEvent
from trellis.audit.models import AuditEvent
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.demo import personas
from trellis.journey.tests.factories import enroll_alex
from trellis.measures import services
from trellis.measures.models import AssignmentStatus, QuestionnaireAssignment, QuestionnaireResponse

PHQ9_ITEMS = [f"q{n}" for n in range(1, 10)]


@pytest.fixture
def enrollment(cast: personas.Cast) -> Enrollment:
    enrollment = enroll_alex(cast, now=timeutil.now() - timedelta(hours=1))
    services.schedule_for_enrollment(enrollment, now=enrollment.started_at)
    return enrollment


@pytest.fixture
def alex(client_for: Any) -> Any:
    return client_for("patient_alex")


def open_assignment(enrollment: Enrollment, code: str) -> QuestionnaireAssignment:
    now = timeutil.now()
    found = (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment,
            instrument=code,
            status__in=[AssignmentStatus.PENDING, AssignmentStatus.OVERDUE],
            due_from__lte=now,
            closes_at__gt=now,
        )
        .order_by("due_from")
        .first()
    )
    assert found is not None, f"no {code} open now"
    return found


def answers(values: dict[str, int], client_id: str | None = None) -> dict[str, str]:
    data = {f"item-{item}": str(value) for item, value in values.items()}
    data["client_id"] = client_id or str(uuid.uuid4())
    return data


def phq9(total_each: int = 1, **overrides: int) -> dict[str, int]:
    values = dict.fromkeys(PHQ9_ITEMS, total_each)
    values.update(overrides)
    return values


def url_for(assignment: QuestionnaireAssignment) -> str:
    return reverse("measures:answer", kwargs={"assignment_id": assignment.pk})


# The form ---------------------------------------------------------------------------------


def test_questionnaire_page_shows_each_item_as_a_labelled_radio_group(
    enrollment: Enrollment, alex: Any
) -> None:
    page = alex.get(url_for(open_assignment(enrollment, "PHQ-9")))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Over the last 2 weeks, how often have you been bothered" in html
    assert html.count('<fieldset class="q-item') == 10  # nine items and the difficulty one
    assert "Question 9 of 10" in html
    assert "Thoughts that you would be better off dead" in html
    assert len(re.findall(r'type="radio"[^>]*name="item-q1"', html)) == 4
    assert '<label for="item-q1-0">Not at all</label>' in html
    assert '<label for="item-q1-3">Nearly every day</label>' in html
    assert re.search(r'name="client_id" value="[0-9a-f-]{36}"', html)
    assert "style=" not in html


def test_a_new_client_id_is_made_each_time_the_form_is_drawn(
    enrollment: Enrollment, alex: Any
) -> None:
    url = url_for(open_assignment(enrollment, "PHQ-9"))
    ids = {
        re.search(r'name="client_id" value="([0-9a-f-]{36})"', alex.get(url).content.decode())[1]  # type: ignore[index]
        for _ in range(2)
    }
    assert len(ids) == 2


# Answering ---------------------------------------------------------------------------------


def test_answering_shows_the_score_and_its_range_in_plain_words(
    enrollment: Enrollment, alex: Any
) -> None:
    assignment = open_assignment(enrollment, "PHQ-9")
    page = alex.post(url_for(assignment), answers(phq9(1, q9=0)))
    assert page.status_code == 200
    html = page.content.decode()
    assert "8 out of 27" in html
    assert "scores from 5 to 9 are in the range called “Mild”" in html
    assert "This is not a diagnosis" in html
    assert 'class="card crisis"' not in html
    response = QuestionnaireResponse.objects.get(enrollment=enrollment)
    assert (response.total, response.band) == (8, "Mild")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.COMPLETED


def test_item_9_above_zero_shows_the_crisis_resources_at_the_top_of_the_same_response(
    enrollment: Enrollment, alex: Any
) -> None:
    page = alex.post(url_for(open_assignment(enrollment, "PHQ-9")), answers(phq9(0, q9=1)))
    assert page.status_code == 200
    html = page.content.decode()
    main = html[html.index('<main id="main"') :]
    crisis = main.index('class="card crisis"')
    assert crisis < main.index("<h1>"), "the crisis resources come before anything else"
    # the clinic's own text, its number tap-to-call
    assert 'Call or text <a class="tel" href="tel:988">988</a>' in html
    assert "Your care team has been told" in html
    assert "1 out of 27" in html
    assert SafetyEvent.objects.filter(enrollment=enrollment, item="q9", value=1).count() == 1


def test_missing_answers_are_refused_at_each_item_and_nothing_is_stored(
    enrollment: Enrollment, alex: Any
) -> None:
    values = {item: 1 for item in PHQ9_ITEMS[:5]}
    page = alex.post(url_for(open_assignment(enrollment, "PHQ-9")), answers(values))
    assert page.status_code == 400
    html = page.content.decode()
    assert "4 questions need an answer." in html
    for number in (6, 7, 8, 9):
        assert f"Please choose an answer to question {number}." in html
    assert 'aria-describedby="item-q6-error"' in html
    assert 'id="item-q6-error"' in html
    assert re.search(r'name="item-q1" value="1" required checked', html)  # answers are kept
    assert not QuestionnaireResponse.objects.exists()
    assert not SafetyEvent.objects.exists()


def test_an_answer_out_of_range_is_refused_at_its_item(enrollment: Enrollment, alex: Any) -> None:
    page = alex.post(url_for(open_assignment(enrollment, "PHQ-9")), answers(phq9(1, q3=7)))
    assert page.status_code == 400
    assert 'id="item-q3-error"' in page.content.decode()
    assert not QuestionnaireResponse.objects.exists()


def test_a_safety_answer_in_an_incomplete_form_is_stored_and_shows_the_crisis_resources(
    enrollment: Enrollment, alex: Any
) -> None:
    page = alex.post(url_for(open_assignment(enrollment, "PHQ-9")), answers({"q9": 2}))
    assert page.status_code == 400
    html = page.content.decode()
    assert 'class="card crisis"' in html
    assert 'Call or text <a class="tel" href="tel:988">988</a>' in html
    assert "Please choose an answer to question 1." in html
    assert not QuestionnaireResponse.objects.exists()
    assert SafetyEvent.objects.filter(enrollment=enrollment, value=2).count() == 1


def test_the_same_page_sent_twice_is_stored_once(enrollment: Enrollment, alex: Any) -> None:
    url = url_for(open_assignment(enrollment, "PHQ-9"))
    data = answers(phq9(2, q9=0), client_id=str(uuid.uuid4()))
    first, second = alex.post(url, data), alex.post(url, data)
    assert (first.status_code, second.status_code) == (200, 200)
    assert "16 out of 27" in second.content.decode()
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 1


def test_a_questionnaire_already_answered_is_409_with_a_clear_reason(
    enrollment: Enrollment, alex: Any
) -> None:
    url = url_for(open_assignment(enrollment, "PHQ-9"))
    alex.post(url, answers(phq9(1, q9=0)))
    again = alex.post(url, answers(phq9(3, q9=0)))
    assert again.status_code == 409
    assert "You have already answered this questionnaire" in again.content.decode()
    assert alex.get(url).status_code == 409
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 1


def test_a_questionnaire_not_yet_due_is_409_and_says_when_it_opens(
    enrollment: Enrollment, alex: Any
) -> None:
    later = (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment, due_from__gt=timeutil.now() + timedelta(days=2)
        )
        .order_by("due_from")
        .first()
    )
    assert later is not None
    page = alex.post(url_for(later), answers(phq9(1, q9=0)))
    assert page.status_code == 409
    assert "This questionnaire opens on" in page.content.decode()
    assert not QuestionnaireResponse.objects.exists()


def test_another_patients_questionnaire_is_404(
    cast: personas.Cast, enrollment: Enrollment, client_for: Any
) -> None:
    from trellis.onboarding.services import enroll_patient as enroll

    blair = enroll(
        patient=cast["patient_blair"],
        program_version=enrollment.program_version,
        support_level="self_guided",
        supporters=[],
        actor=cast["therapist_maria"],
        now=timeutil.now(),
    )
    assert blair.pk
    page = client_for("patient_blair").get(url_for(open_assignment(enrollment, "PHQ-9")))
    assert page.status_code == 404


def test_staff_get_403_on_the_patient_pages(enrollment: Enrollment, client_for: Any) -> None:
    maria = client_for("therapist_maria")
    assert maria.get(reverse("measures:due")).status_code == 403
    assert maria.get(reverse("measures:progress")).status_code == 403
    assert maria.get(url_for(open_assignment(enrollment, "PHQ-9"))).status_code == 403


# What is due ----------------------------------------------------------------------------


def test_due_page_lists_questionnaires_to_answer_now_with_links(
    enrollment: Enrollment, alex: Any
) -> None:
    page = alex.get(reverse("measures:due"))
    assert page.status_code == 200
    html = page.content.decode()
    assert url_for(open_assignment(enrollment, "PHQ-9")) in html
    assert url_for(open_assignment(enrollment, "GAD-7")) in html
    assert "Coming up this week" in html


def test_today_lists_the_questionnaires_due_now(enrollment: Enrollment, alex: Any) -> None:
    html = alex.get(reverse("journey:today")).content.decode()
    assert "A short questionnaire is ready" in html
    assert url_for(open_assignment(enrollment, "PHQ-9")) in html


def test_a_patient_not_in_a_program_is_told_so_kindly(client_for: Any, cast: Any) -> None:
    page = client_for("patient_farah").get(reverse("measures:due"))
    assert page.status_code == 200
    assert "You are not in a program yet" in page.content.decode()


# Progress -------------------------------------------------------------------------------


def answered_twice(cast: personas.Cast, enrollment: Enrollment) -> None:
    """Baseline PHQ-9 of 16 and GAD-7 of 14, then both low a few weeks later."""
    alex = cast["patient_alex"]
    now = timeutil.now()
    services.submit_response(
        enrollment,
        "PHQ-9",
        actor=alex,
        answers=phq9(2, q9=0),
        client_id=uuid.uuid4(),
        now=now,
    )
    services.submit_response(
        enrollment,
        "GAD-7",
        actor=alex,
        answers={f"q{n}": 2 for n in range(1, 8)},
        client_id=uuid.uuid4(),
        now=now,
    )
    later = (
        QuestionnaireAssignment.objects.filter(
            enrollment=enrollment, instrument="PHQ-9", due_from__gt=now
        )
        .order_by("due_from")
        .first()
    )
    assert later is not None
    when: datetime = later.due_from + timedelta(hours=1)
    services.submit_response(
        enrollment, "PHQ-9", actor=alex, answers=phq9(0), client_id=uuid.uuid4(), now=when
    )
    services.submit_response(
        enrollment,
        "GAD-7",
        actor=alex,
        answers={f"q{n}": 0 for n in range(1, 8)},
        client_id=uuid.uuid4(),
        now=when,
    )


def test_progress_page_shows_chart_table_and_outcome_in_plain_words(
    cast: personas.Cast, enrollment: Enrollment, alex: Any
) -> None:
    answered_twice(cast, enrollment)
    page = alex.get(reverse("measures:progress"))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart trajectory" role="img"' in html
    assert html.count('class="point"') == 4
    assert "<caption" in html and "Scores, newest first" in html
    assert "<td>16</td>" in html and "<td>0</td>" in html
    assert "below the level where treatment is usually offered" in html


def test_progress_page_without_scores_says_so(enrollment: Enrollment, alex: Any) -> None:
    html = alex.get(reverse("measures:progress")).content.decode()
    assert "No scores yet" in html
    assert 'class="chart trajectory"' not in html  # (the tab bar's icons are SVG too)
    assert "After you have answered the same questionnaire at least twice" in html


def test_care_team_sees_progress_and_outcomes_and_the_read_is_audited(
    cast: personas.Cast, enrollment: Enrollment, client_for: Any
) -> None:
    answered_twice(cast, enrollment)
    url = reverse("measures:patient_progress", kwargs={"patient_id": cast["patient_alex"].pk})
    page = client_for("therapist_maria").get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="chart trajectory"' in html
    assert "Reliable recovery" in html
    assert re.search(r"Reliable recovery</th><td>Yes</td>", html)
    assert "Moderately severe" in html  # the first PHQ-9 band, in the table
    event = AuditEvent.objects.filter(action="measures.view_progress").get()
    assert str(event.patient_id) == str(cast["patient_alex"].pk)
    assert str(event.actor_id) == str(cast["therapist_maria"].pk)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("patient_alex", 403),
        ("therapist_otto", 404),  # another clinic
        ("admin_avery", 404),  # accounts, not records
        ("therapist_sam", 404),  # another team of the same clinic
        ("supervisor_ruth", 200),
    ],
)
def test_staff_progress_page_follows_caseload_reach(
    cast: personas.Cast, enrollment: Enrollment, client_for: Any, who: str, status: int
) -> None:
    url = reverse("measures:patient_progress", kwargs={"patient_id": cast["patient_alex"].pk})
    assert client_for(who).get(url).status_code == status


def test_person_page_links_to_progress_only_for_the_care_team(
    cast: personas.Cast, enrollment: Enrollment, client_for: Any
) -> None:
    from trellis.accounts.models import Membership, Role

    membership = Membership.objects.get(user=cast["patient_alex"], role=Role.PATIENT)
    person = reverse("clinic:person", args=[membership.pk])
    progress = reverse("measures:patient_progress", args=[cast["patient_alex"].pk])
    assert progress in client_for("therapist_maria").get(person).content.decode()
    assert progress not in client_for("admin_avery").get(person).content.decode()


def test_patients_see_my_progress_in_the_navigation(enrollment: Enrollment, alex: Any) -> None:
    html = alex.get(reverse("journey:today")).content.decode()
    assert f'href="{reverse("measures:progress")}"' in html
