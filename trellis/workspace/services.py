"""What the supporter's workspace writes of its own: the audit row of opening a record.

Care notes and changes of support are written by the care app.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from trellis import audit
from trellis.accounts.models import User
from trellis.care.models import Enrollment


@transaction.atomic
def note_record_view(enrollment: Enrollment, *, actor: User, now: datetime, via: str = "") -> None:
    """Someone of the care team opened the patient's record: a read of it, so it is audited.
    `via` names the way in when it is not the page ("api")."""
    audit.record(
        action="record.view",
        actor=actor,
        subject=enrollment,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"via": via} if via else None,
        at=now,
    )
