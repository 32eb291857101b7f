"""Building blocks for the onboarding tests and the browser test: a new patient invited by
therapist_maria into the journey test program, who accepts the link and walks the steps."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from trellis.accounts.models import User
from trellis.care.models import Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.journey.tests.factories import publish_test_pack
from trellis.onboarding.services.invitations import invite_patient

NEW_EMAIL = "nina.new@patients.example"
NEW_PASSWORD = "willow-lantern-harbour"

EHEALS_SUFFICIENT = {f"q{i}": 4 for i in range(1, 9)}  # 32
EHEALS_INADEQUATE = {f"q{i}": 2 for i in range(1, 9)}  # 16
PHQ9_MODERATE = {**{f"q{i}": 2 for i in range(1, 8)}, "q8": 0, "q9": 0}  # 14
PHQ9_MINIMAL = {f"q{i}": 0 for i in range(1, 10)}
GAD7_MILD = {"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 1, "q6": 1, "q7": 0}  # 6
GAD7_MINIMAL = {f"q{i}": 0 for i in range(1, 8)}


def invite(cast: Any, email: str = NEW_EMAIL) -> str:
    """therapist_maria invites a patient into the test program; returns the link's path."""
    _invitation, token = invite_patient(
        organization=cast.clinics["riverside"],
        email=email,
        full_name="Nina Novak",
        program_version=publish_test_pack(),
        support_level=SupportLevel.COACHED,
        supporters=[cast["therapist_maria"], cast["coach_jordan"]],
        team=cast.teams[("riverside", "Anxiety team")],
        actor=cast["therapist_maria"],
        now=timeutil.now(),
    )
    return reverse("clinic:accept_invitation", kwargs={"token": token})


def accept(client: Client, path: str) -> Any:
    return client.post(
        path,
        {"full_name": "Nina Novak", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


def new_patient(cast: Any, email: str = NEW_EMAIL) -> tuple[Client, User, Enrollment]:
    """A freshly invited patient, signed in, at the consent step."""
    client = Client()
    response = accept(client, invite(cast, email))
    assert response.status_code == 302, response.content
    patient = User.objects.get(email=email)
    return client, patient, Enrollment.objects.get(patient=patient)


def form(answers: dict[str, int], client_id: str) -> dict[str, Any]:
    return {"client_id": client_id, **{f"item-{k}": v for k, v in answers.items()}}


def agree_all(research: bool = False) -> dict[str, str]:
    return {
        "treatment": "yes",
        "data_use": "yes",
        "automation": "yes",
        "research": "yes" if research else "no",
    }
