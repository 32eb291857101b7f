"""Getting started: from the invitation link to Today, one step at a time."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.alerts.models import Alert
from trellis.audit.models import AuditEvent
from trellis.care import queries as care_queries
from trellis.care.models import (
    CareTeamMember,
    Onboarding,
    OnboardingStage,
    Preferences,
    SupportLevel,
)
from trellis.measures.models import QuestionnaireResponse
from trellis.onboarding import services as onboarding
from trellis.onboarding.tests.onboarding_factories import (
    EHEALS_INADEQUATE,
    EHEALS_SUFFICIENT,
    GAD7_MILD,
    GAD7_MINIMAL,
    PHQ9_MINIMAL,
    PHQ9_MODERATE,
    accept,
    agree_all,
    form,
    invite,
    new_patient,
)

pytestmark = pytest.mark.django_db


def _answer(client: Client, url: str, answers: dict[str, int]) -> Any:
    return client.post(reverse(url), form(answers, str(uuid.uuid4())))


def _through_baseline(
    client: Client,
    eheals: dict[str, int] = EHEALS_SUFFICIENT,
    phq9: dict[str, int] = PHQ9_MODERATE,
    gad7: dict[str, int] = GAD7_MILD,
) -> None:
    assert client.post(reverse("onboarding:consent"), agree_all()).status_code == 302
    assert _answer(client, "onboarding:eheals", eheals).status_code == 302
    if eheals == EHEALS_INADEQUATE:
        client.post(reverse("onboarding:simple_mode"), {"choice": "no"})
    assert _answer(client, "onboarding:baseline", phq9).status_code == 302
    assert _answer(client, "onboarding:baseline", gad7).status_code == 302


PREFERENCES = {
    "contact_style": "messages",
    "reminder_channels": ["email", "push"],
    "quiet_hours_start": "21:30",
    "quiet_hours_end": "07:30",
    "time_zone": "Europe/Helsinki",
}


def test_accepting_a_patient_invitation_enrolls_as_planned_and_opens_consent(cast: Any) -> None:
    client = Client()
    response = accept(client, invite(cast))
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding:start")
    response = client.get(reverse("onboarding:start"))
    assert response["Location"] == reverse("onboarding:consent")
    onboarding_row = Onboarding.objects.get()
    enrollment = onboarding_row.enrollment
    assert onboarding_row.stage == OnboardingStage.CONSENT
    assert enrollment.support_level == SupportLevel.COACHED
    team = list(
        CareTeamMember.objects.filter(enrollment=enrollment)
        .order_by("role")
        .values_list("supporter__email", "role")
    )
    assert team == [
        (cast["therapist_maria"].email, "primary"),
        (cast["coach_jordan"].email, "secondary"),
    ]
    assert AuditEvent.objects.filter(action="onboarding.start", object_id=str(onboarding_row.pk))


def test_the_consent_page_shows_each_text_and_the_step_number(cast: Any) -> None:
    client, _patient, _enrollment = new_patient(cast)
    page = client.get(reverse("onboarding:consent")).content.decode()
    assert "Step 1 of 5" in page
    for title in ("Taking part in the program", "How your information is used"):
        assert title in page
    assert "Every hour Trellis checks a few simple rules" in page
    assert "<script>" not in page and "style=" not in page


def test_a_patient_cannot_skip_ahead(cast: Any) -> None:
    client, _patient, _enrollment = new_patient(cast)
    for name in (
        "journey:today",
        "journey:journal",
        "onboarding:baseline",
        "onboarding:preferences",
    ):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"] == reverse("onboarding:consent"), name
    assert client.get(reverse("journey:step", kwargs={"step_key": "slow-breathing"}))[
        "Location"
    ] == reverse("onboarding:consent")
    response = _answer(client, "onboarding:eheals", EHEALS_SUFFICIENT)
    assert response["Location"] == reverse("onboarding:consent")
    assert not QuestionnaireResponse.objects.exists()


def test_the_whole_way_to_today_with_triage_and_preferences(cast: Any) -> None:
    client, patient, enrollment = new_patient(cast)
    _through_baseline(client)
    page = client.get(reverse("onboarding:preferences"))
    assert b"Step 5 of 5" in page.content
    assert b'value="America/New_York" selected' in page.content  # the clinic's zone
    response = client.post(reverse("onboarding:preferences"), PREFERENCES)
    assert response.status_code == 302
    assert response["Location"] == reverse("journey:today")
    today = client.get(reverse("journey:today"))
    assert today.status_code == 200
    assert b"Your care team will look at your answers" in today.content

    enrollment.refresh_from_db()
    assert enrollment.suggested_support_level == SupportLevel.THERAPIST_ASSISTED
    assert "PHQ-9 score 14" in enrollment.suggestion_reason
    alert = Alert.objects.get(enrollment=enrollment, kind="triage")
    assert alert.assigned_to == cast["therapist_maria"]
    prefs = Preferences.objects.get(user=patient)
    assert prefs.reminder_channels == ["email", "push"]
    assert prefs.time_zone == "Europe/Helsinki"
    assert str(prefs.quiet_hours_start) == "21:30:00"
    assert Onboarding.objects.get(enrollment=enrollment).completed_at is not None
    actions = set(AuditEvent.objects.filter(patient_id=patient.pk).values_list("action", flat=True))
    for stage in ("eheals", "baseline", "preferences", "done"):
        assert f"onboarding.{stage}" in actions
    assert {"preferences.update", "enrollment.triage_suggest"} <= actions
    assert set(
        QuestionnaireResponse.objects.filter(enrollment=enrollment).values_list(
            "instrument", flat=True
        )
    ) == {"eHEALS", "PHQ-9", "GAD-7"}


def test_minimal_symptoms_suggest_self_guided(cast: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    _through_baseline(client, phq9=PHQ9_MINIMAL, gad7=GAD7_MINIMAL)
    enrollment.refresh_from_db()
    assert enrollment.suggested_support_level == SupportLevel.SELF_GUIDED


def test_a_low_ehealth_score_offers_simple_mode_and_asks_for_a_walkthrough(cast: Any) -> None:
    client, patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    response = _answer(client, "onboarding:eheals", EHEALS_INADEQUATE)
    assert response["Location"] == reverse("onboarding:simple_mode")
    page = client.get(reverse("onboarding:simple_mode"))
    assert b"Would simple mode help?" in page.content
    alert = Alert.objects.get(enrollment=enrollment, kind="walkthrough")
    assert alert.severity == "low"
    assert alert.assigned_to == cast["therapist_maria"]
    assert client.post(reverse("onboarding:simple_mode"), {}).status_code == 400
    response = client.post(reverse("onboarding:simple_mode"), {"choice": "yes"})
    assert response["Location"] == reverse("onboarding:baseline")
    assert Preferences.objects.get(user=patient).simple_mode is True


def test_each_getting_started_page_has_its_own_step_number(cast: Any) -> None:
    client, _patient, _enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    assert b"Step 2 of 5" in client.get(reverse("onboarding:eheals")).content
    _answer(client, "onboarding:eheals", EHEALS_INADEQUATE)
    # The simple-mode question is a page of its own, after eHEALS.
    assert b"Step 3 of 6" in client.get(reverse("onboarding:simple_mode")).content
    client.post(reverse("onboarding:simple_mode"), {"choice": "no"})
    assert b"Step 4 of 6" in client.get(reverse("onboarding:baseline")).content


def test_a_good_ehealth_score_goes_straight_to_the_baseline(cast: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    response = _answer(client, "onboarding:eheals", EHEALS_SUFFICIENT)
    assert response["Location"] == reverse("onboarding:baseline")
    assert b"Step 3 of 5" in client.get(reverse("onboarding:baseline")).content
    assert not Alert.objects.filter(enrollment=enrollment, kind="walkthrough").exists()
    assert client.get(reverse("onboarding:simple_mode"))["Location"] == reverse(
        "onboarding:baseline"
    )


def test_a_missing_answer_is_shown_next_to_its_question_and_nothing_is_saved(cast: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    answers = dict(EHEALS_SUFFICIENT)
    del answers["q3"]
    response = _answer(client, "onboarding:eheals", answers)
    assert response.status_code == 400
    assert b'id="item-q3-error"' in response.content
    assert not QuestionnaireResponse.objects.filter(enrollment=enrollment).exists()
    assert care_queries.onboarding_of(enrollment).stage == OnboardingStage.EHEALS


def test_sending_the_same_answers_twice_counts_once(cast: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    data = form(EHEALS_SUFFICIENT, str(uuid.uuid4()))
    client.post(reverse("onboarding:eheals"), data)
    again = client.post(reverse("onboarding:eheals"), data)
    assert again.status_code == 302
    assert QuestionnaireResponse.objects.filter(enrollment=enrollment).count() == 1


def test_an_answer_about_self_harm_shows_crisis_resources_in_the_same_response(
    cast: Any,
) -> None:
    client, _patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    _answer(client, "onboarding:eheals", EHEALS_SUFFICIENT)
    response = _answer(client, "onboarding:baseline", {**PHQ9_MODERATE, "q9": 1})
    assert response.status_code == 200
    assert b"988" in response.content
    assert b"You do not have to face this alone" in response.content
    assert Alert.objects.filter(enrollment=enrollment, kind="safety").exists()
    assert client.get(reverse("onboarding:start"))["Location"] == reverse("onboarding:baseline")
    assert b"GAD-7" in client.get(reverse("onboarding:baseline")).content


def test_a_safety_answer_in_a_refused_form_still_shows_crisis_resources(cast: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    _answer(client, "onboarding:eheals", EHEALS_SUFFICIENT)
    response = _answer(client, "onboarding:baseline", {"q9": 2})
    assert response.status_code == 400
    assert b"988" in response.content
    assert Alert.objects.filter(enrollment=enrollment, kind="safety").exists()
    assert not QuestionnaireResponse.objects.filter(enrollment=enrollment, instrument="PHQ-9")


def test_a_therapist_confirms_or_changes_the_suggested_level(cast: Any, client_for: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    _through_baseline(client, phq9=PHQ9_MINIMAL, gad7=GAD7_MINIMAL)
    url = reverse("care:confirm_support_level", kwargs={"pk": enrollment.pk})
    maria = client_for("therapist_maria")
    page = maria.get(url)
    assert b"Symptoms are minimal" in page.content
    assert maria.post(url, {"level": "unknown"}).status_code == 400
    response = maria.post(url, {"level": SupportLevel.COACHED, "note": "Prefers a coach."})
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.support_level == SupportLevel.COACHED
    assert enrollment.support_level_confirmed_by == cast["therapist_maria"]
    event = AuditEvent.objects.get(action="enrollment.support_level_confirm")
    assert event.details["previous"] == SupportLevel.COACHED
    assert event.details["suggested"] == SupportLevel.SELF_GUIDED
    assert client_for("coach_jordan").get(url).status_code == 403
    assert client_for("therapist_sam").get(url).status_code == 404


def test_a_clinician_invites_a_patient_through_the_page(
    cast: Any, client_for: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from trellis.journey.tests.factories import PACK_SLUG, publish_test_pack

    publish_test_pack()
    maria = client_for("therapist_maria")
    page = maria.get(reverse("care:invite_patient"))
    assert b"Invite a patient" in page.content
    # Every level of support is a radio the clinician can pick (not bare option text).
    html = page.content.decode()
    for level in SupportLevel.values:
        assert f'type="radio" name="support_level" value="{level}"' in html
    assert "<option" not in html.split('name="support_level"')[0].rsplit("<fieldset", 1)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        response = maria.post(
            reverse("care:invite_patient"),
            {
                "email": "oscar@patients.example",
                "full_name": "Oscar Oak",
                "program": PACK_SLUG,
                "support_level": SupportLevel.SELF_GUIDED,
                "team": cast.teams[("riverside", "Anxiety team")].pk,
                "supporters": [cast["coach_jordan"].pk],
            },
        )
    assert response.status_code == 302, response.content
    assert len(smtp.to("oscar@patients.example")) == 1
    bad = maria.post(reverse("care:invite_patient"), {"email": "nope", "program": PACK_SLUG})
    assert bad.status_code == 400
    assert client_for("admin_avery").get(reverse("care:invite_patient")).status_code == 403


def test_demo_style_enrollments_without_onboarding_go_straight_to_today(
    cast: Any, client_for: Any
) -> None:
    from trellis.journey.tests.factories import enroll_alex

    enrollment = enroll_alex(cast)
    alex = client_for("patient_alex")
    assert alex.get(reverse("journey:today")).status_code == 200
    assert alex.get(reverse("onboarding:consent"))["Location"] == reverse("journey:today")
    onboarding.mark_done(enrollment, actor=None, now=enrollment.started_at)
    onboarding.mark_done(enrollment, actor=None, now=enrollment.started_at)
    assert AuditEvent.objects.filter(action="onboarding.done").count() == 1
