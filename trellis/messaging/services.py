"""Writing secure messages: sending one, and reading a thread (read receipts).

A thread belongs to one enrollment. The patient writes to their care team; an active
member of the care team, or a supervisor of the clinic, writes back. Message text is
stored encrypted. A message carries a client id made by the sending page or app, so a
double tap or a retry after a dropped connection sends it once.

`Thread.waiting_since` is kept here, in the same transaction as the message: it is the
time of the oldest patient message that no one on the care team has answered yet, and
the caseload and the unanswered-message alert read it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Membership, Role, User
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care.models import CareTeamMember, Enrollment
from trellis.core import timeutil
from trellis.core.errors import Conflict
from trellis.engagement import events
from trellis.engagement.models import EventType
from trellis.messaging.models import Message, ReplyTemplate, Thread

MAX_BODY = 5_000
MAX_SUPPORT_MINUTES = 240
DEFAULT_TEMPLATES = Path(__file__).resolve().parent / "default_templates.yaml"
ENDED_MESSAGE = "This patient's program has ended, so messages can no longer be sent here."


class ProgramEnded(ValidationError):
    """The enrollment is no longer active: nothing can be sent in its thread."""

    def __init__(self) -> None:
        super().__init__(ENDED_MESSAGE, code="ended")


def is_care_team(enrollment: Enrollment, user: Any) -> bool:
    """An active supporter of this enrollment."""
    return CareTeamMember.objects.filter(
        enrollment_id=enrollment.pk, supporter_id=user.pk, active=True
    ).exists()


def is_supervisor(enrollment: Enrollment, user: Any) -> bool:
    """A supervisor of the clinic the enrollment belongs to."""
    return Membership.objects.filter(
        user_id=user.pk,
        organization_id=enrollment.organization_id,
        role=Role.SUPERVISOR,
        is_active=True,
    ).exists()


def may_reply(enrollment: Enrollment, user: Any) -> bool:
    """Who may write for the care team: an active supporter, or a clinic supervisor."""
    return is_care_team(enrollment, user) or is_supervisor(enrollment, user)


def _as_uuid(client_id: Any) -> uuid.UUID:
    try:
        return client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (ValueError, TypeError, AttributeError):
        raise ValidationError({"client_id": _("This is not a valid client id (a UUID).")}) from None


def _clean_body(body: Any) -> str:
    text = (body or "").strip() if isinstance(body, str) else ""
    if not text:
        raise ValidationError({"body": _("Please write a message before sending.")})
    if len(text) > MAX_BODY:
        raise ValidationError(
            {
                "body": f"Please keep a message to {MAX_BODY:,} characters "
                f"(this one has {len(text):,})."
            }
        )
    return text


def _clean_minutes(minutes: Any) -> int | None:
    if minutes in (None, ""):
        return None
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise ValidationError({"support_minutes": _("Enter the minutes as a whole number.")})
    if minutes < 0 or minutes > MAX_SUPPORT_MINUTES:
        raise ValidationError(
            {"support_minutes": f"Enter between 0 and {MAX_SUPPORT_MINUTES} minutes."}
        )
    return minutes


def _locked_thread(enrollment: Enrollment) -> Thread:
    """The enrollment's thread, made on first use, locked for this transaction."""
    try:
        with transaction.atomic():
            Thread.objects.get_or_create(enrollment=enrollment)
    except IntegrityError:
        pass  # someone else made it a moment ago; it exists now
    return Thread.objects.select_for_update().get(enrollment=enrollment)


@transaction.atomic
def send_message(
    enrollment: Enrollment,
    *,
    sender: User,
    body: str,
    client_id: Any,
    now: datetime,
    template_key: str = "",
    support_minutes: int | None = None,
) -> Message:
    """Send one message in the enrollment's thread, from the patient or from the care team.

    Sending the same client id again returns the message already sent and changes nothing;
    the message is checked first, so a message that could never be sent is refused even then.
    """
    timeutil.ensure_aware(now)
    from_patient = enrollment.patient_id == sender.pk
    if not from_patient and not may_reply(enrollment, sender):
        raise PermissionDenied(_("Only the patient and their care team can write in this thread."))
    key = _as_uuid(client_id)
    text = _clean_body(body)
    minutes = None if from_patient else _clean_minutes(support_minutes)
    thread = _locked_thread(enrollment)
    existing = Message.objects.filter(thread=thread, client_id=key).first()
    if existing is not None:
        if existing.sender_id != sender.pk:
            raise Conflict({"client_id": "This client id was already used."})
        return existing
    if not Enrollment.objects.filter(pk=enrollment.pk, status="active").exists():
        raise ProgramEnded()
    message = Message.objects.create(
        thread=thread,
        sender=sender,
        from_patient=from_patient,
        body=text,
        sent_at=now,
        client_id=key,
        template_key=(template_key or "")[:60] if not from_patient else "",
        support_minutes=minutes,
    )
    thread.last_message_at = now
    if from_patient:
        thread.waiting_since = thread.waiting_since or now
    else:
        thread.waiting_since = None
    thread.save(update_fields=["last_message_at", "waiting_since", "updated_at"])
    if from_patient:
        events.emit(enrollment, EventType.MESSAGE_SENT, at=now, value=str(len(text)))
    else:
        # Not the patient's action: support reaching them, which the risk model reads.
        events.emit(enrollment, EventType.CARE_TEAM_MESSAGE, at=now, value=str(len(text)))
    audit.record(
        action="message.send",
        actor=sender,
        subject=message,
        patient=enrollment.patient_id,
        organization=enrollment.organization_id,
        details={
            "from_patient": from_patient,
            "template": message.template_key,
            "support_minutes": minutes,
        },
        at=now,
    )
    return message


@transaction.atomic
def mark_read(enrollment: Enrollment, *, reader: User, now: datetime, via: str = "page") -> int:
    """The reader opened the thread: the other side's unread messages get a read receipt.

    The patient reading marks the care team's messages; a member of the care team (or a
    supervisor) marks the patient's. Staff reading the thread is a read of the patient's
    record and is audited (`message.read`); staff who may not reply (a colleague on the
    same team) are audited but leave no read receipt. Returns how many messages were marked.
    """
    timeutil.ensure_aware(now)
    is_patient = enrollment.patient_id == reader.pk
    marked = 0
    if is_patient or may_reply(enrollment, reader):
        marked = Message.objects.filter(
            thread__enrollment_id=enrollment.pk,
            from_patient=not is_patient,
            read_at__isnull=True,
            sent_at__lte=now,
        ).update(read_at=now)
    note_read(
        actor=reader,
        what=Read.MESSAGES_OPENED,
        via=via,
        patient=enrollment.patient_id,
        subject=enrollment,
        organization=enrollment.organization_id,
        details={"marked_read": marked},
        at=now,
    )
    return marked


@transaction.atomic
def ensure_default_templates() -> int:
    """Put Trellis's default reply templates back when the database has none of them (the
    data migration loads them; an emptied test database does not have them). Returns how
    many it added."""
    if ReplyTemplate.objects.filter(organization__isnull=True).exists():
        return 0
    rows = yaml.safe_load(DEFAULT_TEMPLATES.read_text(encoding="utf-8"))
    added = 0
    for row in rows:
        _template, created = ReplyTemplate.objects.get_or_create(
            organization=None,
            key=row["key"],
            defaults={"gesture": row["gesture"], "title": row["title"], "body": row["body"]},
        )
        added += int(created)
    return added
