"""Triage through getting started: a baseline answer about self-harm is never followed by a
self-guided suggestion, however low the totals."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from trellis.alerts.models import Alert
from trellis.care.models import SupportLevel
from trellis.onboarding.tests.onboarding_factories import (
    EHEALS_SUFFICIENT,
    GAD7_MINIMAL,
    PHQ9_MINIMAL,
    agree_all,
    form,
    new_patient,
)

pytestmark = pytest.mark.django_db


def _answer(client: Client, url: str, answers: dict[str, int]) -> Any:
    return client.post(reverse(url), form(answers, str(uuid.uuid4())))


def _minimal_baseline(client: Client, *, item9: int) -> None:
    assert client.post(reverse("onboarding:consent"), agree_all()).status_code == 302
    assert _answer(client, "onboarding:eheals", EHEALS_SUFFICIENT).status_code == 302
    phq9 = _answer(client, "onboarding:baseline", {**PHQ9_MINIMAL, "q9": item9})
    assert phq9.status_code in (200, 302)
    assert _answer(client, "onboarding:baseline", GAD7_MINIMAL).status_code == 302


def test_minimal_totals_with_item9_answered_suggest_therapist_assisted(cast: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    _minimal_baseline(client, item9=1)
    enrollment.refresh_from_db()
    assert enrollment.suggested_support_level == SupportLevel.THERAPIST_ASSISTED
    assert "PHQ-9 item 9 was answered 1" in enrollment.suggestion_reason
    triage_alert = Alert.objects.get(enrollment=enrollment, kind="triage")
    assert str(SupportLevel.THERAPIST_ASSISTED.label) in triage_alert.reason
    assert triage_alert.data["suggested"] == SupportLevel.THERAPIST_ASSISTED
    assert Alert.objects.filter(enrollment=enrollment, kind="safety").exists()


def test_minimal_totals_with_item9_answered_0_stay_self_guided(cast: Any) -> None:
    client, _patient, enrollment = new_patient(cast)
    _minimal_baseline(client, item9=0)
    enrollment.refresh_from_db()
    assert enrollment.suggested_support_level == SupportLevel.SELF_GUIDED
    assert "item 9" not in enrollment.suggestion_reason


def test_an_item9_answer_in_a_refused_form_still_keeps_triage_off_self_guided(
    cast: Any,
) -> None:
    # The first PHQ-9 page is refused (other answers missing) but its answer to question 9
    # was acted on; the page sent again says 0 to question 9. Triage still knows.
    client, _patient, enrollment = new_patient(cast)
    assert client.post(reverse("onboarding:consent"), agree_all()).status_code == 302
    assert _answer(client, "onboarding:eheals", EHEALS_SUFFICIENT).status_code == 302
    assert _answer(client, "onboarding:baseline", {"q9": 2}).status_code == 400
    assert _answer(client, "onboarding:baseline", PHQ9_MINIMAL).status_code == 302
    assert _answer(client, "onboarding:baseline", GAD7_MINIMAL).status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.suggested_support_level == SupportLevel.THERAPIST_ASSISTED
    assert "PHQ-9 item 9 was answered 2" in enrollment.suggestion_reason
