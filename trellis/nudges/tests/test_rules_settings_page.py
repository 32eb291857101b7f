"""The clinic's reminder settings page: admins change hours, caps and rules (audited);
a rule outside the clinic's hours is refused with the reason (400, nothing saved)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from html import escape
from typing import Any

import pytest
from django.urls import reverse

from trellis.audit.models import AuditEvent
from trellis.journey.tests.factories import publish_test_pack
from trellis.nudges import rules
from trellis.nudges.models import OutreachSettings, ReminderRule, RuleKind

pytestmark = pytest.mark.django_db


def exercise_rule(cast: Any) -> ReminderRule:
    rules.ensure_default_rules(cast.clinics["riverside"])
    return ReminderRule.objects.get(
        organization=cast.clinics["riverside"], program_key="", kind=RuleKind.EXERCISE_TODAY
    )


def rule_form(**changes: Any) -> dict[str, Any]:
    values = {
        "enabled": "on",
        "send_at": "18:00",
        "window_from": "09:00",
        "window_until": "20:00",
        "send_probability": "1",
    }
    values.update(changes)
    return values


def test_the_clinic_settings_page_leads_to_the_reminders(client_for: Any) -> None:
    page = client_for("admin_avery").get(reverse("clinic:settings"))
    assert reverse("reminders:overview") in page.content.decode()


def test_an_admin_sees_every_rule_and_the_limits(cast: Any, client_for: Any) -> None:
    page = client_for("admin_avery").get(reverse("reminders:overview"))
    assert page.status_code == 200
    text = page.content.decode()
    for kind in RuleKind:
        assert escape(str(kind.label)) in text
    assert 'value="08:00"' in text and 'value="21:00"' in text
    assert reverse("reminders:export") in text


def test_a_rule_outside_the_clinics_hours_is_refused_on_the_page(
    cast: Any, client_for: Any
) -> None:
    rule = exercise_rule(cast)
    answer = client_for("admin_avery").post(
        reverse("reminders:rule", args=[rule.pk]),
        rule_form(send_at="", window_from="22:00", window_until="23:00"),
    )
    assert answer.status_code == 400
    assert (
        "This rule would send only between 22:00 and 23:00, outside the clinic&#x27;s hours "
        "08:00-21:00." in answer.content.decode()
    )
    rule.refresh_from_db()
    assert rule.window_from == time(9, 0)
    assert not AuditEvent.objects.filter(action="nudges.rule.save").exists()


def test_an_admin_starts_a_trial_of_a_rule_and_it_is_audited(cast: Any, client_for: Any) -> None:
    rule = exercise_rule(cast)
    answer = client_for("admin_avery").post(
        reverse("reminders:rule", args=[rule.pk]),
        rule_form(send_probability="0.5", channels=["in_app", "push"]),
    )
    assert answer.status_code == 302
    rule.refresh_from_db()
    assert rule.send_probability == Decimal("0.5")
    assert rule.channels == ["in_app", "push"]
    event = AuditEvent.objects.get(action="nudges.rule.save")
    assert event.actor_id == cast["admin_avery"].pk
    assert event.details["send_probability"] == ["1.000", "0.5"]


def test_bad_limits_get_the_forms_message(cast: Any, client_for: Any) -> None:
    answer = client_for("admin_avery").post(
        reverse("reminders:overview"),
        {"allowed_from": "08:00", "allowed_until": "21:00", "daily_cap": "5", "weekly_cap": "3"},
    )
    assert answer.status_code == 400
    assert "The daily cap cannot be above the weekly cap." in answer.content.decode()
    answer = client_for("admin_avery").post(
        reverse("reminders:overview"),
        {
            "allowed_from": "8 in the morning",
            "allowed_until": "21:00",
            "daily_cap": "1",
            "weekly_cap": "4",
        },
    )
    assert answer.status_code == 400
    assert not AuditEvent.objects.filter(action="nudges.settings.save").exists()


def test_limits_narrowed_under_a_rule_are_refused_with_the_rule_named(
    cast: Any, client_for: Any
) -> None:
    answer = client_for("admin_avery").post(
        reverse("reminders:overview"),
        {"allowed_from": "06:00", "allowed_until": "08:30", "daily_cap": "1", "weekly_cap": "4"},
    )
    assert answer.status_code == 400
    assert "outside the clinic&#x27;s hours 06:00-08:30" in answer.content.decode()
    settings = OutreachSettings.objects.get(organization=cast.clinics["riverside"])
    assert settings.allowed_until == time(21, 0)


def test_limits_saved_are_audited(cast: Any, client_for: Any) -> None:
    answer = client_for("admin_avery").post(
        reverse("reminders:overview"),
        {"allowed_from": "08:00", "allowed_until": "20:30", "daily_cap": "2", "weekly_cap": "5"},
    )
    assert answer.status_code == 302
    event = AuditEvent.objects.get(action="nudges.settings.save")
    assert event.details == {
        "allowed_until": ["21:00", "20:30"],
        "daily_cap": [1, 2],
        "weekly_cap": [4, 5],
    }


def test_a_program_rule_starts_as_a_copy_and_can_be_removed(cast: Any, client_for: Any) -> None:
    key = publish_test_pack().program.slug
    admin = client_for("admin_avery")
    answer = admin.post(
        reverse("reminders:add_program_rule"), {"kind": "inactivity", "program_key": key}
    )
    rule = ReminderRule.objects.get(program_key=key, kind=RuleKind.INACTIVITY)
    assert answer.status_code == 302 and answer["Location"] == reverse(
        "reminders:rule", args=[rule.pk]
    )
    assert rule.inactivity_days == 4
    answer = admin.post(reverse("reminders:remove_rule", args=[rule.pk]))
    assert answer.status_code == 302
    assert not ReminderRule.objects.filter(program_key=key).exists()
    assert AuditEvent.objects.filter(action="nudges.rule.delete").count() == 1


def test_other_staff_may_not_change_reminders(cast: Any, client_for: Any) -> None:
    assert client_for("supervisor_ruth").get(reverse("reminders:overview")).status_code == 403
    assert client_for("patient_alex").get(reverse("reminders:overview")).status_code == 403


def test_the_trial_download_is_a_csv_and_audited_as_an_export(cast: Any, client_for: Any) -> None:
    answer = client_for("admin_avery").get(reverse("reminders:export"))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv"
    body = b"".join(answer.streaming_content).decode()  # type: ignore[attr-defined]
    assert body.splitlines()[0].startswith("decision_id,enrollment_id,rule_kind,program_key")
    event = AuditEvent.objects.get(action="nudges.export")
    assert event.actor_id == cast["admin_avery"].pk
    assert event.details["rows"] == 0
