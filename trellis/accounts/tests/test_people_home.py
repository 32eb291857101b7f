"""The home page: a clinic overview for staff, a welcome with crisis help for patients."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from trellis.accounts.models import Role
from trellis.accounts.services.clinic import update_clinic_settings
from trellis.accounts.services.invitations import create_invitation
from trellis.core import timeutil


def _stat(page: str, label: str) -> int:
    match = re.search(rf"<dt>{label}</dt><dd>(\d+)</dd>", page)
    assert match, f"no {label} in page"
    return int(match.group(1))


def test_signed_out_visitors_are_sent_to_sign_in(db: Any) -> None:
    response = Client().get(reverse("clinic:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_therapist_home_shows_her_clinic_team_and_caseload(client_for: Any) -> None:
    page = client_for("therapist_maria").get(reverse("clinic:home")).content.decode()
    assert "Riverside Community Clinic" in page
    assert "Therapist" in page and "Anxiety team" in page
    assert _stat(page, "Patients on your caseload") == 3  # Alex, Blair, Emery
    assert _stat(page, "Staff") == 6
    assert reverse("clinic:tokens") not in page and reverse("clinic:invite") not in page


def test_admin_home_counts_accounts_and_open_invitations(cast: Any, client_for: Any) -> None:
    create_invitation(
        organization=cast.clinics["riverside"],
        email="soon@riverside.example",
        role=Role.COACH,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    page = client_for("admin_avery").get(reverse("clinic:home")).content.decode()
    assert _stat(page, "Patient accounts") == 5
    assert _stat(page, "Open invitations") == 1
    for name in ("clinic:invite", "clinic:tokens", "clinic:settings", "audit:events"):
        assert reverse(name) in page


def test_researcher_home_shows_no_patients(client_for: Any) -> None:
    page = client_for("researcher_lee").get(reverse("clinic:home")).content.decode()
    assert _stat(page, "Patients on your caseload") == 0


def test_patient_home_shows_care_team_and_crisis_resources(cast: Any, client_for: Any) -> None:
    update_clinic_settings(
        organization=cast.clinics["riverside"],
        actor=cast["admin_avery"],
        name="Riverside Community Clinic",
        time_zone="America/New_York",
        locale="en-US",
        crisis_resources="Call the Riverside crisis line on 555-0100 at any hour.",
    )
    response = client_for("patient_alex").get(reverse("clinic:home"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "You are a patient of Riverside Community Clinic" in page
    assert "Maria Lindqvist" in page and "Jordan Ellis" in page
    assert "Sam Whitaker" not in page  # another team's therapist
    assert 'class="card crisis"' in page and "555-0100" in page
    assert reverse("accounts:security") in page
    assert reverse("clinic:people") not in page


def test_navigation_follows_the_role(client_for: Any) -> None:
    admin = client_for("admin_avery").get(reverse("clinic:home")).content.decode()
    nav = admin[admin.index("<nav") : admin.index("</nav>")]
    for name in ("clinic:people", "clinic:tokens", "clinic:settings", "audit:events"):
        assert reverse(name) in nav
    supervisor = client_for("supervisor_ruth").get(reverse("clinic:home")).content.decode()
    nav = supervisor[supervisor.index("<nav") : supervisor.index("</nav>")]
    assert reverse("audit:events") in nav and reverse("clinic:tokens") not in nav
    patient = client_for("patient_alex").get(reverse("clinic:home")).content.decode()
    nav = patient[patient.index("<nav") : patient.index("</nav>")]
    assert reverse("clinic:people") not in nav and reverse("audit:events") not in nav
    assert 'aria-current="page"' in nav


def test_navigation_stays_hidden_until_staff_finish_two_step_verification(client_for):
    unverified = client_for("admin_avery", verified=False)
    page = unverified.get("/accounts/mfa/verify/")
    assert page.status_code == 200
    assert "Clinic settings" not in page.content.decode()
    verified = client_for("admin_avery")
    assert "Clinic settings" in verified.get("/").content.decode()


def test_clinicians_are_offered_to_invite_a_patient_and_admins_staff(client_for):
    assert (
        "/clinic/care/patients/invite/" in client_for("therapist_maria").get("/").content.decode()
    )
    people = client_for("coach_jordan").get("/clinic/people/").content.decode()
    assert "Invite a patient to a program" in people
    assert "Invite a patient" not in client_for("researcher_lee").get("/").content.decode()


def test_my_account_links_a_patient_to_consent_and_preferences(client_for):
    page = client_for("patient_alex").get("/accounts/security/").content.decode()
    assert "/welcome/" in page and "What you agreed to" in page
    staff = client_for("therapist_maria").get("/accounts/security/").content.decode()
    assert "What you agreed to" not in staff
