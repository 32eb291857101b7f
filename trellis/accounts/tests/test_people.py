"""The people pages: who is listed for whom, and what admins can change."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trellis.accounts import services
from trellis.accounts.models import Membership, Role
from trellis.audit.models import AuditEvent


def _names(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_therapist_sees_colleagues_and_only_her_teams_patients(client_for: Any) -> None:
    page = _names(client_for("therapist_maria").get(reverse("clinic:people")))
    for colleague in ("Ruth Okafor", "Sam Whitaker", "Jordan Ellis", "Avery Quinn", "Lee Moreno"):
        assert colleague in page
    for patient in ("Alex Rivera", "Blair Nakamura", "Emery Walsh"):
        assert patient in page
    for outside in (
        "Casey Brooks",
        "Devon Achebe",
        "Farah Haddad",
        "Otto Lehtinen",
        "Hana Virtanen",
    ):
        assert outside not in page


def test_researcher_sees_staff_and_no_patient(client_for: Any) -> None:
    page = _names(client_for("researcher_lee").get(reverse("clinic:people")))
    assert "Maria Lindqvist" in page
    for patient in ("Alex Rivera", "Casey Brooks", "Farah Haddad"):
        assert patient not in page


def test_admin_sees_every_account_of_her_clinic_only(client_for: Any) -> None:
    page = _names(client_for("admin_avery").get(reverse("clinic:people")))
    assert "Casey Brooks" in page and "Alex Rivera" in page
    assert "Farah Haddad" not in page and "Hana Virtanen" not in page


def test_people_can_be_filtered_by_role(client_for: Any) -> None:
    page = _names(
        client_for("supervisor_ruth").get(reverse("clinic:people"), {"role": "therapist"})
    )
    assert "Maria Lindqvist" in page and "Sam Whitaker" in page
    assert "Jordan Ellis" not in page and "Alex Rivera" not in page
    unknown = _names(
        client_for("supervisor_ruth").get(reverse("clinic:people"), {"role": "pirate"})
    )
    assert "Jordan Ellis" in unknown  # an unknown role shows everyone rather than failing


def test_people_list_costs_the_same_queries_for_more_people(cast: Any, client_for: Any) -> None:
    client = client_for("admin_avery")
    client.get(reverse("clinic:people"))  # warm the session
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("clinic:people"))
    for n in range(15):
        services.create_person(
            organization=cast.clinics["riverside"],
            email=f"extra{n}@patients.example",
            full_name=f"Extra Patient {n}",
            role=Role.PATIENT,
            team=cast.teams[("riverside", "Anxiety team")],
            actor=None,
        )
    with CaptureQueriesContext(connection) as after:
        response = client.get(reverse("clinic:people"))
    assert "Extra Patient 14" in response.content.decode()
    assert len(after.captured_queries) == len(before.captured_queries)


@pytest.mark.parametrize("key", ["patient_alex", "patient_farah"])
def test_patients_get_403_on_every_people_page(cast: Any, client_for: Any, key: str) -> None:
    client = client_for(key)
    own = cast.memberships[key]
    assert client.get(reverse("clinic:people")).status_code == 403
    assert client.get(reverse("clinic:person", kwargs={"pk": own.pk})).status_code == 403
    other = cast.memberships["patient_blair"]
    assert client.get(reverse("clinic:person", kwargs={"pk": other.pk})).status_code == 403


def test_coach_opens_a_patient_of_her_team_but_not_another_team(cast: Any, client_for: Any) -> None:
    coach = client_for("coach_jordan")
    mine = coach.get(reverse("clinic:person", kwargs={"pk": cast.memberships["patient_alex"].pk}))
    assert mine.status_code == 200 and "Alex Rivera" in mine.content.decode()
    theirs = coach.get(
        reverse("clinic:person", kwargs={"pk": cast.memberships["patient_casey"].pk})
    )
    assert theirs.status_code == 404


def test_another_clinics_person_is_not_found(cast: Any, client_for: Any) -> None:
    admin = client_for("admin_avery")
    for key in ("therapist_otto", "patient_farah", "admin_hana"):
        response = admin.get(reverse("clinic:person", kwargs={"pk": cast.memberships[key].pk}))
        assert response.status_code == 404


def test_admin_changes_a_role_and_it_is_audited(cast: Any, client_for: Any) -> None:
    sam = cast.memberships["therapist_sam"]
    response = client_for("admin_avery").post(
        reverse("clinic:person_role", kwargs={"pk": sam.pk}), {"role": Role.SUPERVISOR}
    )
    assert response.status_code == 302
    sam.refresh_from_db()
    assert sam.role == Role.SUPERVISOR
    event = AuditEvent.objects.get(action="membership.role_change", object_id=str(sam.pk))
    assert event.details["from"] == Role.THERAPIST and event.details["to"] == Role.SUPERVISOR


def test_a_patient_account_cannot_be_made_staff(cast: Any, client_for: Any) -> None:
    alex = cast.memberships["patient_alex"]
    client = client_for("admin_avery")
    response = client.post(
        reverse("clinic:person_role", kwargs={"pk": alex.pk}), {"role": Role.ADMIN}
    )
    assert response.status_code == 302
    alex.refresh_from_db()
    assert alex.role == Role.PATIENT
    follow = client.get(response["Location"])
    assert "cannot become a staff account" in follow.content.decode()


def test_an_admin_cannot_change_her_own_role(cast: Any, client_for: Any) -> None:
    own = cast.memberships["admin_avery"]
    client_for("admin_avery").post(
        reverse("clinic:person_role", kwargs={"pk": own.pk}), {"role": Role.COACH}
    )
    own.refresh_from_db()
    assert own.role == Role.ADMIN


def test_an_unknown_role_is_refused_without_a_change(cast: Any, client_for: Any) -> None:
    sam = cast.memberships["therapist_sam"]
    response = client_for("admin_avery").post(
        reverse("clinic:person_role", kwargs={"pk": sam.pk}), {"role": "pirate"}
    )
    assert response.status_code == 302
    sam.refresh_from_db()
    assert sam.role == Role.THERAPIST


def test_admin_suspends_and_restores_access(cast: Any, client_for: Any) -> None:
    admin = client_for("admin_avery")
    sam = cast.memberships["therapist_sam"]
    url = reverse("clinic:person_active", kwargs={"pk": sam.pk})
    assert admin.post(url, {"active": "0"}).status_code == 302
    assert not Membership.objects.get(pk=sam.pk).is_active
    assert AuditEvent.objects.filter(action="membership.suspend", object_id=str(sam.pk)).exists()
    # Suspended: Sam no longer reaches his clinic's pages.
    assert client_for("therapist_sam").get(reverse("clinic:people")).status_code == 403
    page = admin.get(reverse("clinic:people"))
    assert "Suspended" in page.content.decode()
    assert admin.post(url, {"active": "1"}).status_code == 302
    assert Membership.objects.get(pk=sam.pk).is_active
    assert AuditEvent.objects.filter(action="membership.activate", object_id=str(sam.pk)).exists()


@pytest.mark.parametrize(
    "key", ["supervisor_ruth", "therapist_maria", "researcher_lee", "patient_alex"]
)
def test_only_admins_change_roles_or_access(cast: Any, client_for: Any, key: str) -> None:
    client = client_for(key)
    sam = cast.memberships["therapist_sam"]
    role = client.post(reverse("clinic:person_role", kwargs={"pk": sam.pk}), {"role": Role.ADMIN})
    active = client.post(reverse("clinic:person_active", kwargs={"pk": sam.pk}), {"active": "0"})
    assert (role.status_code, active.status_code) == (403, 403)
    sam.refresh_from_db()
    assert sam.role == Role.THERAPIST and sam.is_active


def test_an_admin_cannot_suspend_another_clinics_staff(cast: Any, client_for: Any) -> None:
    otto = cast.memberships["therapist_otto"]
    response = client_for("admin_avery").post(
        reverse("clinic:person_active", kwargs={"pk": otto.pk}), {"active": "0"}
    )
    assert response.status_code == 404
    otto.refresh_from_db()
    assert otto.is_active


def test_role_and_access_changes_need_post(cast: Any, client_for: Any) -> None:
    sam = cast.memberships["therapist_sam"]
    response = client_for("admin_avery").get(reverse("clinic:person_active", kwargs={"pk": sam.pk}))
    assert response.status_code == 405
