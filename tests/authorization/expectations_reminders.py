"""Who may use the clinic's reminder settings (trellis/nudges/settings_urls.py).

Decisions:
- The reminder settings (hours, caps, rules) and the trial-data download are for the
  clinic's admins, like the rest of the clinic settings: other staff get 403, patients 403,
  integration tokens do not open HTML pages.
- A rule of another clinic is 404, like a rule that does not exist.
- The download holds decision points only (enrollments by opaque id, no names, scores or
  free text), so it reads no clinical data in the matrix's sense; it is still recorded in
  the audit trail as an export (`nudges.export`).
"""

from __future__ import annotations

from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    Route,
    expect,
)
from trellis.journey.tests.factories import publish_test_pack
from trellis.nudges import rules
from trellis.nudges.models import ReminderRule, RuleKind

_ADMIN_ONLY = expect(FORBIDDEN, anonymous=LOGIN, token_read=LOGIN, token_write=LOGIN, admin=ALLOWED)


def _clinic_rule(cast: Any) -> dict[str, Any]:
    rules.ensure_default_rules(cast.clinics["riverside"])
    rule = ReminderRule.objects.get(
        organization=cast.clinics["riverside"], program_key="", kind=RuleKind.EXERCISE_TODAY
    )
    return {"pk": rule.pk}


def _program_rule(cast: Any) -> dict[str, Any]:
    riverside = cast.clinics["riverside"]
    rules.ensure_default_rules(riverside)
    key = publish_test_pack().program.slug
    rule, _created = ReminderRule.objects.get_or_create(
        organization=riverside,
        program_key=key,
        kind=RuleKind.INACTIVITY,
        defaults={"inactivity_days": 3},
    )
    return {"pk": rule.pk}


def _new_program_rule(cast: Any) -> dict[str, Any]:
    return {"kind": RuleKind.QUESTIONNAIRE_DUE, "program_key": publish_test_pack().program.slug}


ROUTES = [
    Route("reminders:overview", _ADMIN_ONLY, reads=NO_PATIENT_DATA),
    Route("reminders:rule", _ADMIN_ONLY, kwargs=_clinic_rule, reads=NO_PATIENT_DATA),
    Route(
        "reminders:remove_rule",
        _ADMIN_ONLY,
        method="POST",
        kwargs=_program_rule,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "reminders:add_program_rule",
        _ADMIN_ONLY,
        method="POST",
        data=_new_program_rule,
        reads=NO_PATIENT_DATA,
    ),
    Route("reminders:export", _ADMIN_ONLY, reads=NO_PATIENT_DATA),
]
