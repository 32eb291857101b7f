"""Erasure: a patient asks, a clinic admin erases or refuses with a reason, or erases on a
request made by phone or in person; the retention job erases on its own.

Each action is one transaction with its audit row. `erase_person` writes the tombstone
(`person.erased`): the person's id and the counts of what was removed, no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, User
from trellis.core import timeutil
from trellis.interop.erasure.rules import Refusal, refusals, settings_for
from trellis.interop.erasure.steps import erase_records
from trellis.interop.models import Erasure, ErasureStatus

MAX_REASON = 500
RETENTION_ACTOR = "retention job"


class ErasureRefused(ValidationError):
    """Erasure is not allowed now; `refusals` says which rules stand in the way."""

    def __init__(self, found: list[Refusal]) -> None:
        super().__init__([r.message for r in found])
        self.refusals = found


def _clean_reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError({"reason": _("Say briefly why.")})
    if len(reason) > MAX_REASON:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)s characters.") % {"n": MAX_REASON}}
        )
    return reason


def open_request(person: Any) -> Erasure | None:
    """The person's request still waiting for a decision, if any."""
    return (
        Erasure.objects.filter(person_id=person.pk, status=ErasureStatus.REQUESTED)
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def request_erasure(*, patient: User, organization: Organization, now: datetime) -> Erasure:
    """A patient asks for their record to be erased; a clinic admin decides. Refused at once
    when the clinic does not erase on request; a second request while one waits is the
    same request."""
    User.objects.select_for_update().filter(pk=patient.pk).first()
    waiting = open_request(patient)
    if waiting is not None:
        return waiting
    if not settings_for(organization).erasure_on_request:
        raise ValidationError(
            _(
                "This clinic keeps records for its retention time and does not erase them "
                "on request."
            )
        )
    erasure = Erasure.objects.create(
        organization=organization,
        person_id=patient.pk,
        on_request=True,
        status=ErasureStatus.REQUESTED,
        requested_by=patient,
    )
    audit.record(
        action="erasure.request",
        actor=patient,
        subject=erasure,
        patient=patient,
        organization=organization,
        at=now,
    )
    return erasure


@transaction.atomic
def refuse_erasure(erasure: Erasure, *, by: User, reason: str, now: datetime) -> Erasure:
    """A clinic admin refuses a waiting request, with a reason the patient reads."""
    reason = _clean_reason(reason, required=True)
    locked = Erasure.objects.select_for_update().get(pk=erasure.pk)
    if locked.status != ErasureStatus.REQUESTED:
        raise ValidationError(_("This request has already been decided."))
    locked.status = ErasureStatus.REFUSED
    locked.decided_by = by
    locked.reason = reason
    locked.save(update_fields=["status", "decided_by", "reason", "updated_at"])
    audit.record(
        action="erasure.refuse",
        actor=by,
        subject=locked,
        patient=locked.person_id,
        organization=locked.organization_id,
        details={"reason_chars": len(reason)},
        at=now,
    )
    return locked


@transaction.atomic
def erase_person(
    person: User,
    *,
    organization: Organization,
    by: User | None,
    reason: str,
    on_request: bool,
    request: Erasure | None = None,
    now: datetime | None = None,
) -> Erasure:
    """Remove or irreversibly anonymise everything about a patient across every app, in one
    transaction, and leave a tombstone in the audit trail.

    `by` is the clinic admin (None: the retention job). `on_request` is True for a patient's
    request (`request`, the waiting row, when it was made in Trellis; none when it was made by
    phone or in person, and then `reason` says how). Raises ErasureRefused when a rule stands
    in the way (trellis.interop.erasure.rules), and nothing is changed.
    """
    now = now or timeutil.now()
    reason = _clean_reason(reason, required=on_request and request is None)
    locked = User.objects.select_for_update().get(pk=person.pk)
    found = refusals(locked, organization, on_request=on_request)
    if found:
        raise ErasureRefused(found)
    if request is None:
        # A waiting request at this clinic is answered by this erasure, however it came.
        request = (
            Erasure.objects.select_for_update()
            .filter(person_id=locked.pk, organization=organization, status=ErasureStatus.REQUESTED)
            .first()
        )
    else:
        request = Erasure.objects.select_for_update().get(pk=request.pk)
        if request.status != ErasureStatus.REQUESTED or request.person_id != locked.pk:
            raise ValidationError(_("This request has already been decided."))
    counts = erase_records(locked)
    erasure = request or Erasure(
        organization=organization, person_id=locked.pk, on_request=on_request
    )
    erasure.on_request = on_request
    erasure.status = ErasureStatus.DONE
    erasure.decided_by = by
    erasure.reason = reason
    erasure.erased_at = now
    erasure.counts = counts
    erasure.save()
    audit.record(
        action="person.erased",
        actor=by,
        actor_label="" if by is not None else RETENTION_ACTOR,
        object_type="interop.erasure",
        object_id=str(erasure.pk),
        patient=locked.pk,
        organization=organization,
        details={
            "on_request": on_request,
            "retention": not on_request,
            "counts": counts,
        },
        at=now,
    )
    person.refresh_from_db()
    return erasure
