"""Consent: versioned default documents, agreeing to the required ones, and withdrawing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.care import consent as care_consent
from trellis.care import queries as care_queries
from trellis.care.models import (
    Consent,
    ConsentDocument,
    ConsentKind,
    EnrollmentStatus,
    OnboardingStage,
)
from trellis.core import timeutil
from trellis.onboarding.tests.onboarding_factories import agree_all, new_patient

pytestmark = pytest.mark.django_db


def test_the_default_consent_documents_are_seeded_once_per_kind(db: Any) -> None:
    documents = care_consent.current_documents(None)
    assert [d.kind for d in documents] == list(ConsentKind.values)
    assert [d.required for d in documents] == [True, True, True, False]
    automation = next(d for d in documents if d.kind == ConsentKind.AUTOMATION)
    assert automation.version == 3
    for words in ("Every hour", "Once a night", "care team", "decides", "ask", "new version"):
        assert words in automation.body


def test_seeding_again_changes_nothing(db: Any) -> None:
    from importlib import import_module

    from django.apps import apps

    seed = import_module("trellis.care.migrations.0004_default_consent_documents")
    before = ConsentDocument.objects.count()
    seed.load_defaults(apps, None)
    assert ConsentDocument.objects.count() == before == 6  # automation has three versions


def test_a_clinic_text_and_a_new_version_replace_the_default(cast: Any) -> None:
    clinic = cast.clinics["riverside"]
    ConsentDocument.objects.create(
        organization=None,
        kind=ConsentKind.RESEARCH,
        version=2,
        title="Research v2",
        body="x",
        required=False,
        published_at=timeutil.now(),
    )
    ConsentDocument.objects.create(
        organization=clinic,
        kind=ConsentKind.TREATMENT,
        version=1,
        title="Riverside treatment",
        body="x",
        published_at=timeutil.now(),
    )
    chosen = {d.kind: d.title for d in care_consent.current_documents(clinic, "en-US")}
    assert chosen[ConsentKind.RESEARCH] == "Research v2"
    assert chosen[ConsentKind.TREATMENT] == "Riverside treatment"
    other = {d.kind: d.title for d in care_consent.current_documents(cast.clinics["hillside"])}
    assert other[ConsentKind.TREATMENT] == "Taking part in the program"


def test_declining_a_required_consent_is_refused_with_the_reason_and_writes_nothing(
    cast: Any,
) -> None:
    client, patient, enrollment = new_patient(cast)
    answers = {**agree_all(), "automation": "no"}
    response = client.post(reverse("onboarding:consent"), answers)
    assert response.status_code == 400
    assert b"You need to agree to this to use the program" in response.content
    assert b'aria-describedby="automation-error"' in response.content
    assert not Consent.objects.filter(user=patient).exists()
    assert care_queries.onboarding_of(enrollment).stage == OnboardingStage.CONSENT


def test_agreeing_records_each_answer_with_its_version_and_moves_on(cast: Any) -> None:
    client, patient, _enrollment = new_patient(cast)
    response = client.post(reverse("onboarding:consent"), agree_all(research=False))
    assert response.status_code == 302
    assert response["Location"] == reverse("onboarding:eheals")
    answers = {c.document.kind: c.agreed for c in Consent.objects.filter(user=patient)}
    assert answers == {"treatment": True, "data_use": True, "automation": True, "research": False}
    assert care_consent.has_consent(patient, ConsentKind.AUTOMATION)
    assert not care_consent.has_consent(patient, ConsentKind.RESEARCH)
    actions = list(
        AuditEvent.objects.filter(patient_id=patient.pk).values_list("action", flat=True)
    )
    assert actions.count("consent.agree") == 3
    assert actions.count("consent.decline") == 1
    assert "onboarding.eheals" in actions


def test_withdrawing_research_stops_research_only(cast: Any) -> None:
    client, patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all(research=True))
    research = Consent.objects.get(user=patient, document__kind=ConsentKind.RESEARCH)
    page = client.get(reverse("onboarding:withdraw_consent", kwargs={"pk": research.pk}))
    assert b"not be used in new research" in page.content
    client.post(reverse("onboarding:withdraw_consent", kwargs={"pk": research.pk}))
    research.refresh_from_db()
    enrollment.refresh_from_db()
    assert research.withdrawn_at is not None
    assert not care_consent.has_consent(patient, ConsentKind.RESEARCH)
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert AuditEvent.objects.filter(action="consent.withdraw", patient_id=patient.pk).exists()


def test_withdrawing_treatment_ends_the_enrollment_and_tells_the_care_team(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client, patient, enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all())
    treatment = Consent.objects.get(user=patient, document__kind=ConsentKind.TREATMENT)
    page = client.get(reverse("onboarding:withdraw_consent", kwargs={"pk": treatment.pk}))
    assert b"Your program will stop straight away" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("onboarding:withdraw_consent", kwargs={"pk": treatment.pk}))
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.WITHDRAWN
    assert "withdrew consent" in enrollment.end_reason
    mails = smtp.to(cast["therapist_maria"].email)
    assert len(mails) == 1 and "stopped" in mails[0].subject
    assert len(smtp.to(cast["coach_jordan"].email)) == 1


def test_withdrawing_twice_or_someone_elses_consent_is_refused(cast: Any, client_for: Any) -> None:
    client, patient, _enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all(research=True))
    research = Consent.objects.get(user=patient, document__kind=ConsentKind.RESEARCH)
    other = client_for("patient_blair")
    assert (
        other.get(reverse("onboarding:withdraw_consent", kwargs={"pk": research.pk})).status_code
        == 404
    )
    care_consent.withdraw_consent(research, actor=patient, now=timeutil.now())
    with pytest.raises(ValidationError):
        care_consent.withdraw_consent(research, actor=patient, now=timeutil.now())


def test_research_can_be_agreed_later_from_my_account(cast: Any) -> None:
    client, patient, _enrollment = new_patient(cast)
    client.post(reverse("onboarding:consent"), agree_all(research=False))
    page = client.get(reverse("onboarding:my_consents"))
    assert b"I agree to take part in research" in page.content
    client.post(reverse("onboarding:agree_research"))
    assert care_consent.has_consent(patient, ConsentKind.RESEARCH)


def test_default_consent_texts_come_back_when_the_database_lost_them(db):
    from trellis.care.consent import current_documents
    from trellis.care.models import ConsentDocument

    ConsentDocument.objects.all().delete()
    kinds = [doc.kind for doc in current_documents(None)]
    assert kinds == ["treatment", "data_use", "automation", "research"]
    assert ConsentDocument.objects.filter(organization__isnull=True).count() == 6
