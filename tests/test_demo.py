"""`trellis demo`: sets up the simulated clinic once, prints how to sign in, refuses production."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.accounts.models import Membership, Organization, Role, User
from trellis.core.testing import current_totp
from trellis.demo import personas
from trellis.interop.models import AmendmentRequest, BackendClient, Referral

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _own_var_dir(settings: Any, tmp_path: Path) -> None:
    """The demo writes its EHR's key pair under VAR_DIR: each test has its own, so a test
    run never replaces the keys of a developer's demo."""
    settings.VAR_DIR = tmp_path


def run_demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_running_the_demo_twice_leaves_every_table_the_same() -> None:
    run_demo("--no-serve")
    after_first = row_counts()
    run_demo("--no-serve")
    assert row_counts() == after_first
    # The personas, and the simulated patients the demo adds (a handful in the test suite).
    simulated = settings.TRELLIS_DEMO_SIMULATED_PATIENTS
    assert after_first["accounts.User"] == len(personas.PERSONAS) + simulated
    assert after_first["accounts.Organization"] == len(personas.CLINICS)


@pytest.mark.django_db
def test_demo_seeds_one_clinic_with_every_kind_of_person() -> None:
    run_demo("--no-serve")
    riverside = Organization.objects.get(slug="riverside")
    roles = list(Membership.objects.filter(organization=riverside).values_list("role", flat=True))
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.COACH, Role.RESEARCHER):
        assert role in roles
    assert roles.count(Role.THERAPIST) >= 2
    assert roles.count(Role.PATIENT) >= 3


@pytest.mark.django_db
def test_demo_prints_every_login_with_the_staff_totp_secrets() -> None:
    output = run_demo("--no-serve")
    assert personas.DEMO_PASSWORD in output
    for persona in personas.PERSONAS:
        assert persona.email in output
        if persona.role == Role.PATIENT:
            continue
        secret = personas.totp_key_base32(persona.email)
        assert secret in output
        assert (
            f"otpauth://totp/Trellis%3A{persona.email.replace('@', '%40')}?secret={secret}"
            in output
        )
    assert "trellis demo --totp EMAIL" in output


@pytest.mark.django_db
def test_demo_connects_the_ehr_with_a_key_that_stays_on_this_machine() -> None:
    output = run_demo("--no-serve")
    client = BackendClient.objects.get(organization__slug="riverside", name="Riverside EHR")
    key = Path(settings.VAR_DIR) / "demo-ehr" / "private-key.pem"
    assert key.exists()
    assert all("d" not in jwk for jwk in client.jwks["keys"])  # Trellis holds no private key
    assert f"--client-id {client.client_id} --key {key}" in output
    assert "/fhir/R4/metadata" in output
    # Alex has a correction waiting, and the EHR's read in the accounting of disclosures.
    alex = User.objects.get(email=personas.persona("patient_alex").email)
    assert AmendmentRequest.objects.filter(patient=alex, status="pending").count() == 1
    assert Referral.objects.filter(organization__slug="riverside", client=client).count() == 1


@pytest.mark.django_db
def test_demo_totp_prints_the_code_an_authenticator_app_would_show() -> None:
    run_demo("--no-serve")
    maria = User.objects.get(email=personas.persona("therapist_maria").email)
    code = run_demo("--totp", "Maria.Therapist@riverside.example").strip()
    assert len(code) == 6
    assert code == current_totp(maria)


@pytest.mark.django_db
def test_demo_totp_for_an_unknown_person_says_which_emails_work() -> None:
    run_demo("--no-serve")
    with pytest.raises(CommandError, match="staff emails it prints"):
        run_demo("--totp", "alex@patients.example")


@pytest.mark.django_db
def test_demo_refuses_to_run_in_production(settings: Any) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        run_demo("--no-serve")
    assert not User.objects.exists()
