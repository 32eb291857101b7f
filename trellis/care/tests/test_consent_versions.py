"""Consent texts are versioned: the automated-features text describes what Trellis does
(version 3: the checks and the nightly estimate), the people who agreed to an earlier
version keep that agreement, recorded against the text they read, and the estimate is made
only for people whose yes in force is to a text that describes it."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse

from trellis.care import consent as care_consent
from trellis.care.models import Consent, ConsentDocument, ConsentKind
from trellis.core import timeutil
from trellis.onboarding.tests.onboarding_factories import agree_all, new_patient

pytestmark = pytest.mark.django_db

V3_MIGRATION = "trellis.care.migrations.0010_automation_consent_v3"


def _automation(version: int) -> ConsentDocument:
    return ConsentDocument.objects.get(
        organization__isnull=True, kind=ConsentKind.AUTOMATION, locale="en", version=version
    )


def _file_body(name: str) -> str:
    text = (care_consent.CONSENT_TEXTS / name).read_text(encoding="utf-8")
    return text.split("---\n", 2)[2].strip() + "\n"


def test_the_current_automation_text_is_version_3_and_describes_the_estimate(db: Any) -> None:
    current = {d.kind: d for d in care_consent.current_documents(None)}
    automation = current[ConsentKind.AUTOMATION]
    assert automation.version == 3 == care_consent.MODEL_DESCRIBED_FROM
    body = " ".join(automation.body.lower().split())
    # What the model does, as insights.risk does it.
    for promise in (
        "once a night",
        "will not use the program at all in the next two weeks",
        "does not read your messages or your journal",
        "at least 500 people",
        "no estimate is made for you any more",
    ):
        assert promise in body
    for check in ("hurting yourself", "level of support", "every hour", "walkthrough"):
        assert check in body
    assert "asked to read the new version" in body


def test_earlier_versions_stay_word_for_word_as_people_read_them(db: Any) -> None:
    care_consent.current_documents(None)
    assert _automation(1).body == _file_body("automation.v1.en.md")
    assert _automation(2).body == _file_body("automation.v2.en.md")
    assert _automation(3).body == _file_body("automation.v3.en.md")
    assert "None of them is a computer model" in " ".join(_automation(2).body.split())


def test_the_migration_adds_version_3_beside_the_others_and_can_run_again(db: Any) -> None:
    care_consent.current_documents(None)
    v2 = _automation(2)
    _automation(3).delete()  # the database as it was before the migration
    assert care_consent.current_documents(None)[2].version == 2
    migration = import_module(V3_MIGRATION)
    migration.load_defaults(apps, None)
    migration.load_defaults(apps, None)
    assert ConsentDocument.objects.filter(kind=ConsentKind.AUTOMATION).count() == 3
    assert care_consent.current_documents(None)[2].version == 3
    kept = _automation(2)
    assert (kept.pk, kept.body, kept.published_at) == (v2.pk, v2.body, v2.published_at)


def _agree(patient: Any, version: int) -> Consent:
    return Consent.objects.create(
        user=patient, document=_automation(version), agreed=True, answered_at=timeutil.now()
    )


def test_an_agreement_to_version_2_stays_and_the_patient_can_agree_to_version_3(
    cast: Any,
) -> None:
    care_consent.current_documents(None)
    client, patient, _enrollment = new_patient(cast)
    agreed_v2 = _agree(patient, 2)
    assert care_consent.agreed_to_the_model([patient.pk]) == set()
    page = " ".join(client.get(reverse("onboarding:my_consents")).content.decode().split())
    assert "(version 2)" in page
    answered, current = page.split("Read the current text (version 3)", 1)
    assert "None of them is a computer model" in answered.split("Automated")[-1]
    assert "Once a night, a computer model estimates" in current
    assert "I have read version 3 and agree" in current
    response = client.post(reverse("onboarding:agree_current"), {"document": _automation(3).pk})
    assert response.status_code == 302
    agreed_v2.refresh_from_db()
    assert agreed_v2.document.version == 2 and agreed_v2.agreed
    assert care_consent.agreed_to_the_model([patient.pk]) == {patient.pk}
    # Agreeing twice writes one answer.
    client.post(reverse("onboarding:agree_current"), {"document": _automation(3).pk})
    assert Consent.objects.filter(user=patient, document=_automation(3)).count() == 1


def test_only_a_current_text_can_be_agreed_from_my_account(cast: Any) -> None:
    care_consent.current_documents(None)
    client, patient, _enrollment = new_patient(cast)
    for bad in ("", "not-an-id", str(_automation(1).pk)):
        response = client.post(reverse("onboarding:agree_current"), {"document": bad})
        assert response.status_code == 400
    assert not Consent.objects.filter(user=patient).exists()


def test_the_estimate_needs_a_yes_in_force_to_version_3(cast: Any) -> None:
    care_consent.current_documents(None)
    _c1, agreed, _e1 = new_patient(cast, email="agreed@patients.example")
    _c2, withdrawn, _e2 = new_patient(cast, email="withdrawn@patients.example")
    _c3, declined, _e3 = new_patient(cast, email="declined@patients.example")
    _c4, older, _e4 = new_patient(cast, email="older@patients.example")
    _agree(agreed, 3)
    _agree(withdrawn, 3)
    Consent.objects.filter(user=withdrawn).update(withdrawn_at=timeutil.now())
    Consent.objects.create(
        user=declined, document=_automation(3), agreed=False, answered_at=timeutil.now()
    )
    _agree(older, 2)
    everyone = [agreed.pk, withdrawn.pk, declined.pk, older.pk]
    assert care_consent.agreed_to_the_model(everyone) == {agreed.pk}


def test_a_patient_agreeing_now_agrees_to_version_3(cast: Any) -> None:
    client, patient, _enrollment = new_patient(cast)
    page = client.get(reverse("onboarding:consent")).content.decode()
    assert "Once a night, a computer model estimates" in page
    assert client.post(reverse("onboarding:consent"), agree_all()).status_code == 302
    automation = Consent.objects.get(user=patient, document__kind=ConsentKind.AUTOMATION)
    assert automation.document.version == 3
    assert care_consent.agreed_to_the_model([patient.pk]) == {patient.pk}


def test_withdrawing_automated_features_stops_the_estimate_and_keeps_the_checks() -> None:
    words = care_consent.withdrawal_consequence(ConsentKind.AUTOMATION)
    assert "No estimate" in words
    assert "keep running" in words
