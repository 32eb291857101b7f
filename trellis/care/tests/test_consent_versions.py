"""Consent texts are versioned: the automated-features text describes only what Trellis does
today (version 2), and the people who agreed to version 1 keep that agreement, recorded
against the text they read."""

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

V2_MIGRATION = "trellis.care.migrations.0006_automation_consent_v2"


def _automation(version: int) -> ConsentDocument:
    return ConsentDocument.objects.get(
        organization__isnull=True, kind=ConsentKind.AUTOMATION, locale="en", version=version
    )


def _file_body(name: str) -> str:
    text = (care_consent.CONSENT_TEXTS / name).read_text(encoding="utf-8")
    return text.split("---\n", 2)[2].strip() + "\n"


def test_the_current_automation_text_is_version_2_and_predicts_nothing(db: Any) -> None:
    current = {d.kind: d for d in care_consent.current_documents(None)}
    automation = current[ConsentKind.AUTOMATION]
    assert automation.version == 2
    body = " ".join(automation.body.lower().split())
    for promise in ("stop the program early", "dropout", "drop out", "chance", "the model"):
        assert promise not in body
    for check in ("hurting yourself", "level of support", "every hour", "walkthrough"):
        assert check in body
    assert "asked to read the new version" in body


def test_version_1_stays_word_for_word_as_people_read_it(db: Any) -> None:
    care_consent.current_documents(None)
    v1 = _automation(1)
    assert v1.body == _file_body("automation.v1.en.md")
    assert "chance that you might stop the program early" in v1.body
    assert _automation(2).body == _file_body("automation.v2.en.md")


def test_the_migration_adds_version_2_beside_version_1_and_can_run_again(db: Any) -> None:
    care_consent.current_documents(None)
    v1 = _automation(1)
    _automation(2).delete()  # the database as it was before the migration
    assert care_consent.current_documents(None)[2].version == 1
    migration = import_module(V2_MIGRATION)
    migration.load_defaults(apps, None)
    migration.load_defaults(apps, None)
    assert ConsentDocument.objects.filter(kind=ConsentKind.AUTOMATION).count() == 2
    assert care_consent.current_documents(None)[2].version == 2
    kept = _automation(1)
    assert (kept.pk, kept.body, kept.published_at) == (v1.pk, v1.body, v1.published_at)


def test_an_agreement_to_version_1_stays_recorded_against_version_1(cast: Any) -> None:
    care_consent.current_documents(None)
    client, patient, _enrollment = new_patient(cast)
    agreed_v1 = Consent.objects.create(
        user=patient, document=_automation(1), agreed=True, answered_at=timeutil.now()
    )
    import_module(V2_MIGRATION).load_defaults(apps, None)
    agreed_v1.refresh_from_db()
    assert agreed_v1.document.version == 1 and agreed_v1.agreed
    assert agreed_v1.withdrawn_at is None
    [latest] = [c for c in care_consent.latest_consents(patient) if c.document.kind == "automation"]
    assert latest.pk == agreed_v1.pk
    page = client.get(reverse("onboarding:my_consents")).content.decode()
    assert "(version 1)" in page
    # The text they answered is version 1's, word for word; the current one is offered
    # beside it, named as the newer version.
    answered, current = page.split("Read the current text (version 2)", 1)
    assert "chance that you might stop the program early" in answered.split("Automated")[-1]
    assert "Every hour Trellis checks a few simple rules" in current


def test_a_patient_agreeing_now_agrees_to_version_2(cast: Any) -> None:
    client, patient, _enrollment = new_patient(cast)
    page = client.get(reverse("onboarding:consent")).content.decode()
    assert "Every hour Trellis checks a few simple rules" in page
    assert "stop the program early" not in page
    assert client.post(reverse("onboarding:consent"), agree_all()).status_code == 302
    automation = Consent.objects.get(user=patient, document__kind=ConsentKind.AUTOMATION)
    assert automation.document.version == 2


def test_withdrawing_automated_features_promises_no_estimates_that_do_not_exist() -> None:
    words = care_consent.withdrawal_consequence(ConsentKind.AUTOMATION)
    assert "estimate" not in words
    assert "keep running" in words
