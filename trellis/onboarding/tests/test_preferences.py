"""Preferences: how to be in touch, reminders, quiet hours and time zone."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from trellis.care.models import Preferences

pytestmark = pytest.mark.django_db


def test_preferences_from_my_account_are_saved_and_shown_again(cast: Any, client_for: Any) -> None:
    alex = client_for("patient_alex")
    url = reverse("onboarding:my_preferences")
    page = alex.get(url)
    assert page.status_code == 200
    response = alex.post(
        url,
        {
            "contact_style": "live",
            "reminder_channels": ["sms", "in_app"],
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "08:00",
            "time_zone": "America/Chicago",
        },
    )
    assert response.status_code == 302
    prefs = Preferences.objects.get(user=cast["patient_alex"])
    assert prefs.contact_style == "live"
    assert prefs.reminder_channels == ["sms", "in_app"]
    again = alex.get(url).content.decode()
    assert 'value="America/Chicago" selected' in again
    assert 'value="22:00"' in again


def test_bad_preferences_get_field_level_messages_and_save_nothing(
    cast: Any, client_for: Any
) -> None:
    alex = client_for("patient_alex")
    response = alex.post(
        reverse("onboarding:my_preferences"),
        {
            "reminder_channels": ["pigeon"],
            "quiet_hours_start": "22:00",
            "time_zone": "Mars/Olympus",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    for field in ("contact_style", "reminder_channels", "quiet_hours_end", "time_zone"):
        assert f'id="{field}-error"' in page, field
    assert 'aria-describedby="time_zone-hint time_zone-error"' in page
    assert not Preferences.objects.filter(user=cast["patient_alex"]).exists()


def test_staff_have_no_preferences_page(client_for: Any) -> None:
    assert (
        client_for("therapist_maria").get(reverse("onboarding:my_preferences")).status_code == 403
    )
