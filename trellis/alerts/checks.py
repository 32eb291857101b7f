"""The deployment check for the safety pathway, run by `trellis check`.

A team with no on-call clinician means a self-guided or coached patient's safety alert
has nobody responsible and goes straight to a supervisor; a clinic with no supervisor
has nobody to escalate to. Both are configuration errors.

The check reads the database, so it is tagged `database`: Django runs it only when it is
given a database to check (`trellis check` gives it the default one, as does
`trellis django-check --deploy --database default`), never before other commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError

from trellis.alerts.queries import safety_setup_gaps
from trellis.core.checks import TRELLIS

ON_CALL_FIX = (
    "choose one under Alerts > On-call clinicians (/clinic/alerts/on-call/); until then "
    "safety alerts for its patients without a therapist go straight to a supervisor"
)
SUPERVISOR_FIX = (
    "give someone the supervisor role (Clinic > People); until then overdue safety alerts "
    "go to a clinic admin"
)


@register(Tags.database, TRELLIS, deploy=True)
def safety_on_call(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    try:
        gaps = safety_setup_gaps()
    except DatabaseError as exc:
        return [
            Warning(
                f"could not read the clinics' on-call set-up ({exc.__class__.__name__})",
                hint="run `trellis migrate` and check again",
                id="safety.W001",
            )
        ]
    return [
        Error(gap.message, hint=ON_CALL_FIX, id="safety.E001")
        if gap.team
        else Error(gap.message, hint=SUPERVISOR_FIX, id="safety.E002")
        for gap in gaps
    ]
