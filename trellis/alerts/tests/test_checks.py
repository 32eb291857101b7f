"""The safety set-up check: a Django deployment check that reads the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import ERROR, WARNING, CheckMessage, run_checks
from django.db import OperationalError

from trellis.accounts.services import set_membership_active
from trellis.alerts import checks
from trellis.alerts.tests.helpers import clear_on_call

pytestmark = pytest.mark.django_db


def _ids(messages: list[CheckMessage]) -> list[str | None]:
    return [message.id for message in messages]


def test_a_team_without_on_call_is_reported_only_when_django_is_given_the_database(
    cast: Any,
) -> None:
    clear_on_call(cast, "riverside", "Mood team")
    # Like every `database` check, it stays out of runs without a database alias...
    assert "safety.E001" not in _ids(run_checks(include_deployment_checks=True))
    assert checks.safety_on_call() == []
    # ...and reports the gap when given one, as `trellis check` does.
    found = run_checks(include_deployment_checks=True, databases=["default"])
    [gap] = [message for message in found if message.id == "safety.E001"]
    assert gap.level == ERROR
    assert gap.msg == (
        "Riverside Community Clinic, Mood team: no on-call clinician for safety alerts"
    )
    assert gap.hint == checks.ON_CALL_FIX


def test_a_clinic_without_an_active_supervisor_is_an_error(cast: Any) -> None:
    assert checks.safety_on_call(databases=["default"]) == []
    set_membership_active(
        membership=cast.memberships["supervisor_mika"], active=False, actor=cast["admin_hana"]
    )
    [gap] = checks.safety_on_call(databases=["default"])
    assert (gap.level, gap.id) == (ERROR, "safety.E002")
    assert gap.msg == (
        "Hillside Wellbeing Service: no active supervisor to escalate safety alerts to"
    )
    assert gap.hint == checks.SUPERVISOR_FIX


def test_an_unreadable_database_is_a_warning_not_a_crash(monkeypatch: Any) -> None:
    def unmigrated() -> list[Any]:
        raise OperationalError("no such table: accounts_team")

    monkeypatch.setattr(checks, "safety_setup_gaps", unmigrated)
    [warning] = checks.safety_on_call(databases=["default"])
    assert (warning.level, warning.id) == (WARNING, "safety.W001")
    assert "could not read the clinics' on-call set-up (OperationalError)" in warning.msg
