"""Writing the audit trail. `record` is the only way rows are written.

Linking committed rows into the chain is trellis.audit.sealer's work; checking it (the
chain, its head, its anchors and the rows still waiting) is trellis.audit.integrity's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypedDict, Unpack

from django.contrib.auth import get_user_model
from django.db import models

from trellis.audit.chain import chained_fields, seal_row
from trellis.audit.context import current_origin
from trellis.audit.keyring import audit_keyring
from trellis.audit.models import AuditEvent, AuditPending
from trellis.audit.reads import VIA, Read
from trellis.core import timeutil
from trellis.core.rows import Inserts


def _uuid_or_none(obj: Any) -> Any:
    if obj is None:
        return None
    return getattr(obj, "pk", obj)


class EventFields(TypedDict, total=False):
    """What an event says beside its action (see `record`)."""

    actor: Any
    subject: models.Model | None
    object_type: str
    object_id: str
    patient: Any
    organization: Any
    details: Mapping[str, Any] | None
    ip: str | None
    user_agent: str | None
    actor_label: str
    at: datetime | None


def record(*, action: str, **fields: Unpack[EventFields]) -> AuditEvent:
    """Append one event to the trail, inside the caller's transaction.

    `subject` fills object type and id from a model instance. `actor`, `patient` and
    `organization` may be model instances or their ids. The request's IP and user
    agent come from the audit middleware unless given. The event is sealed with the
    newest audit key (TRELLIS_AUDIT_KEYS), records that key's id, and waits for the sealer
    to link it into the chain after it commits: no writer waits for another.
    """
    # The event and its place in the sealer's queue: one statement on PostgreSQL, two
    # elsewhere, with no savepoint inside the caller's transaction (an error here dooms the
    # caller's whole action, as it must).
    together = Inserts()
    event = record_with(together, action=action, **fields)
    together.run()
    return event


def record_with(together: Inserts, *, action: str, **fields: Unpack[EventFields]) -> AuditEvent:
    """`record`, for an action whose rows are written together (`core.rows.Inserts`, or
    `ClaimedInserts` after an idempotency claim): the event and its pending row go with
    them, in the same statement on PostgreSQL, or not at all. The event is returned before
    it is written."""
    event = _sealed(action=action, **fields)
    together.add(event, pointed_at_by=(AuditPending, "event"))
    return event


def _sealed(
    *,
    action: str,
    actor: Any = None,
    subject: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    patient: Any = None,
    organization: Any = None,
    details: Mapping[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    actor_label: str = "",
    at: datetime | None = None,
) -> AuditEvent:
    """The event `record` writes, sealed with the newest audit key, not yet written."""
    if subject is not None:
        object_type = object_type or subject._meta.label_lower
        object_id = object_id or str(subject.pk)
    origin = current_origin()
    actor_id = _uuid_or_none(actor)
    if organization is None:
        organization = _home_organization(_uuid_or_none(patient) or actor_id)
    if actor is not None and not actor_label:
        actor_label = getattr(actor, "email", "") or str(actor_id)
    key_id, key = audit_keyring().current
    event = AuditEvent(
        occurred_at=at or timeutil.now(),
        actor_id=actor_id,
        actor_label=actor_label[:254],
        organization_id=_uuid_or_none(organization),
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        patient_id=_uuid_or_none(patient),
        ip=ip if ip is not None else origin.ip,
        user_agent=(user_agent if user_agent is not None else origin.user_agent)[:300],
        details=dict(details or {}),
        prev_hash="",
        key_id=key_id,
    )
    event.hash = seal_row(chained_fields(event), key_id=key_id, key=key)
    return event


def note_trail_read(
    *,
    actor: Any,
    organization: Any,
    details: Mapping[str, Any],
    export: bool = False,
    via: str = "page",
) -> AuditEvent | None:
    """Someone read a clinic's audit trail (a page of it, or all of it as an export): who
    looks at the trail, and with which filters, is itself audited."""
    return note_read(
        actor=actor,
        what=Read.TRAIL_EXPORT if export else Read.TRAIL,
        via=via,
        organization=organization,
        details=details,
    )


def note_read(
    *,
    actor: Any,
    what: Read,
    via: str,
    patient: Any = None,
    patients: Iterable[Any] | None = None,
    subject: models.Model | None = None,
    organization: Any = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent | None:
    """Someone was shown patient data: the one way a read is written to the trail, inside
    the caller's transaction. Every page and API operation that shows a patient's clinical
    data calls it (docs/audit.md lists them).

    `patient` names the one patient whose data was shown; `patients` the patients of a list
    (one event for the whole list, with its `count` and the patients' ids in `details`,
    however long it is). `actor` is a person, or an integration token, which has no person
    and is named by its prefix. `via` is "page" or "api".

    Not recorded (None is returned): a patient reading their own data, and a list that
    showed nobody. Staff and tokens are recorded on every read.
    """
    if via not in VIA:
        raise ValueError(f"A read comes through one of {VIA}, not {via!r}.")
    person, label, about_reader = _reader(actor)
    if organization is None and person is None:
        organization = getattr(actor, "organization_id", None)
    more: dict[str, Any] = {**(details or {}), "via": via, **about_reader}
    own = str(person.pk) if person is not None else None
    if patients is not None:
        ids = sorted({str(_uuid_or_none(p)) for p in patients})
        if not ids or ids == [own]:
            return None
        more.update(count=len(ids), patients=ids)
    elif patient is not None and str(_uuid_or_none(patient)) == own:
        return None
    return record(
        action=str(what),
        actor=person,
        actor_label=label,
        subject=subject,
        patient=patient,
        organization=organization,
        details=more,
        at=at,
    )


def _reader(actor: Any) -> tuple[Any, str, dict[str, str]]:
    """The person who read, or for an integration token no person, its label and prefix
    (never its secret). The trail sits below the accounts app, so a token is whatever
    reader is not of the configured user model."""
    if actor is None or isinstance(actor, get_user_model()):
        return actor, "", {}
    return None, f"API token {actor.prefix}", {"api_token": actor.prefix}


def _home_organization(user_id: Any) -> Any:
    """The one clinic a person belongs to, so their sign-ins show in that clinic's trail.

    Someone at several clinics (or none) gets no clinic: the event is theirs alone. The
    trail sits below the accounts app, so it asks the user model Django is configured with
    (through its `memberships`) instead of importing it.
    """
    if user_id is None:
        return None
    org_ids = list(
        get_user_model()
        .objects.filter(pk=user_id, memberships__is_active=True)
        .values_list("memberships__organization_id", flat=True)
        .distinct()[:2]
    )
    return org_ids[0] if len(org_ids) == 1 else None
