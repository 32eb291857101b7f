"""Care-team notes: what supporters write down about a patient, for each other only."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import CLINICAL_ROLES, User
from trellis.accounts.queries import holds_role
from trellis.care.models import CareNote, Enrollment

MAX_NOTE = 5000


@transaction.atomic
def add_care_note(enrollment: Enrollment, *, author: User, body: str, now: datetime) -> CareNote:
    """Keep a note on the patient's record, visible to the care team only (encrypted)."""
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the note before saving it.")})
    if len(body) > MAX_NOTE:
        raise ValidationError({"body": _("Keep a note under %(n)s characters.") % {"n": MAX_NOTE}})
    if enrollment.patient_id == author.pk or not holds_role(
        author, enrollment.organization_id, CLINICAL_ROLES
    ):
        raise PermissionDenied(_("Only the care team writes notes."))
    note = CareNote.objects.create(enrollment=enrollment, author=author, body=body, written_at=now)
    audit.record(
        action="care_note.create",
        actor=author,
        subject=note,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={"enrollment": str(enrollment.pk)},
        at=now,
    )
    return note
