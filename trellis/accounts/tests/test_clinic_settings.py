"""Clinic settings: admins change the name, time zone, locale and crisis resources."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from trellis.accounts.models import Organization
from trellis.audit.models import AuditEvent


def _form(**changes: str) -> dict[str, str]:
    values = {
        "name": "Riverside Community Clinic",
        "time_zone": "America/New_York",
        "locale": "en-US",
        "crisis_resources": "Call or text 988 at any time.",
    }
    values.update(changes)
    return values


def test_admin_changes_settings_and_the_changed_fields_are_audited(
    cast: Any, client_for: Any
) -> None:
    admin = client_for("admin_avery")
    page = admin.get(reverse("clinic:settings"))
    assert page.status_code == 200 and "Riverside Community Clinic" in page.content.decode()
    response = admin.post(
        reverse("clinic:settings"),
        _form(name="Riverside Clinic", time_zone="America/Chicago", crisis_resources="Call 988."),
    )
    assert response.status_code == 302
    org = Organization.objects.get(pk=cast.clinics["riverside"].pk)
    assert (org.name, org.time_zone, org.crisis_resources) == (
        "Riverside Clinic",
        "America/Chicago",
        "Call 988.",
    )
    event = AuditEvent.objects.filter(action="organization.update").latest("id")
    assert event.details["fields"] == ["name", "time_zone", "crisis_resources"]
    assert event.actor_id == cast["admin_avery"].pk


def test_saving_without_changes_records_nothing(cast: Any, client_for: Any) -> None:
    admin = client_for("admin_avery")
    org = cast.clinics["riverside"]
    admin.post(reverse("clinic:settings"), _form(crisis_resources=org.crisis_resources))
    assert not AuditEvent.objects.filter(action="organization.update").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("time_zone", "Mars/Olympus_Mons", "time zone name"),
        ("locale", "english please", "locale such as"),
        ("crisis_resources", "   ", "This field is required"),
        ("name", "", "This field is required"),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_no_change(
    cast: Any, client_for: Any, field: str, value: str, message: str
) -> None:
    response = client_for("admin_avery").post(reverse("clinic:settings"), _form(**{field: value}))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert f'id="{field}-error"' in page and 'aria-invalid="true"' in page
    org = Organization.objects.get(pk=cast.clinics["riverside"].pk)
    assert org.time_zone == "America/New_York" and org.name == "Riverside Community Clinic"
    assert not AuditEvent.objects.filter(action="organization.update").exists()


@pytest.mark.parametrize(
    "key", ["supervisor_ruth", "therapist_maria", "researcher_lee", "patient_alex"]
)
def test_only_admins_change_clinic_settings(cast: Any, client_for: Any, key: str) -> None:
    client = client_for(key)
    assert client.get(reverse("clinic:settings")).status_code == 403
    assert client.post(reverse("clinic:settings"), _form(name="Taken over")).status_code == 403
    assert (
        Organization.objects.get(pk=cast.clinics["riverside"].pk).name
        == "Riverside Community Clinic"
    )


def test_each_admin_changes_only_her_own_clinic(cast: Any, client_for: Any) -> None:
    client_for("admin_hana").post(
        reverse("clinic:settings"), _form(name="Hillside Renamed", time_zone="Europe/Helsinki")
    )
    assert Organization.objects.get(pk=cast.clinics["hillside"].pk).name == "Hillside Renamed"
    assert (
        Organization.objects.get(pk=cast.clinics["riverside"].pk).name
        == "Riverside Community Clinic"
    )
