"""Deployment checks for the safety pathway, run by `trellis check`.

A team with no on-call clinician means a self-guided or coached patient's safety alert
has nobody responsible and goes straight to a supervisor; a clinic with no supervisor
has nobody to escalate to. Both are configuration errors.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DatabaseError

from trellis.alerts.queries import safety_setup_gaps
from trellis.core.deploychecks import Finding, Level, deploy_check

ON_CALL_FIX = (
    "choose one under Alerts > On-call clinicians (/clinic/alerts/on-call/); until then "
    "safety alerts for its patients without a therapist go straight to a supervisor"
)
SUPERVISOR_FIX = (
    "give someone the supervisor role (Clinic > People); until then overdue safety alerts "
    "go to a clinic admin"
)


@deploy_check
def safety_on_call() -> Iterable[Finding]:

    try:
        gaps = safety_setup_gaps()
    except DatabaseError as exc:
        yield Finding(
            Level.WARNING,
            f"could not read the clinics' on-call set-up ({exc.__class__.__name__})",
            "run `trellis migrate` and check again",
        )
        return
    for gap in gaps:
        yield Finding(Level.ERROR, gap.message, ON_CALL_FIX if gap.team else SUPERVISOR_FIX)
