"""Amendment requests (HIPAA's right to amend, 45 CFR 164.526): a patient asks for a part of
their record to be corrected; a clinician of their care team accepts or refuses it, with a
reason, within 60 days. Nothing in the record is overwritten: an accepted amendment is
appended and shown beside the part it corrects, and the request, the decision, who made it,
when and why stay in the record and in the audit trail.

Services own the transaction and the audit row; the reads here decide who may see which
request (a clinician: requests of patients in their reach, at a clinic where they hold a
clinical role; anything else is 404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from trellis.accounts.models import CLINICAL_ROLES, Membership, Organization, Role, User
from trellis.accounts.queries import active_memberships, get_or_404
from trellis.audit import services as audit
from trellis.care.queries import latest_enrollment, patients_for
from trellis.core.errors import Conflict
from trellis.interop.models import AmendmentRequest, AmendmentStatus
from trellis.interop.record import parts, wording
from trellis.nudges import services as nudges

REQUESTED = "amendment.request"
ACCEPTED = "amendment.accept"
REFUSED = "amendment.refuse"

# The in-app notification a patient gets when their request is decided. Registered here,
# where it is queued; the worker renders it (see docs/patient-record.md).
DECIDED_TEMPLATE = "amendment_decided"
wording.register()


def home_clinic(patient: User) -> Organization | None:
    """The clinic a patient's request goes to: that of their latest enrollment, else the
    first clinic they are a patient of."""
    enrollment = latest_enrollment(patient)
    if enrollment is not None:
        return enrollment.organization
    membership = (
        Membership.objects.filter(user=patient, role=Role.PATIENT, is_active=True)
        .select_related("organization")
        .order_by("created_at")
        .first()
    )
    return membership.organization if membership is not None else None


@transaction.atomic
def request_amendment(*, patient: User, about: str, change: str, now: datetime) -> AmendmentRequest:
    """The patient asks for a correction of one part of their record."""
    about, change = parts.clean_request(about, change)
    clinic = home_clinic(patient)
    if clinic is None:
        raise ValidationError(_("You are not a patient of a clinic in Trellis."))
    amendment = AmendmentRequest(
        patient=patient, organization=clinic, about=about, requested_change=change
    )
    amendment.save(force_insert=True)
    # The creation time is the moment of receipt the 60 days are counted from.
    AmendmentRequest.objects.filter(pk=amendment.pk).update(created_at=now)
    amendment.created_at = now
    audit.record(
        action=REQUESTED,
        actor=patient,
        subject=amendment,
        patient=patient,
        organization=clinic,
        details={"about": about, "change_chars": len(change)},
        at=now,
    )
    return amendment


@transaction.atomic
def decide_amendment(
    amendment: AmendmentRequest, *, actor: User, decision: str, reason: str, now: datetime
) -> AmendmentRequest:
    """A clinician accepts or refuses a pending request; a refusal says why. The patient is
    told in Trellis (an in-app notification) once the decision is saved."""
    accept, reason = parts.clean_decision(decision, reason)
    locked = AmendmentRequest.objects.select_for_update().get(pk=amendment.pk)
    if locked.status != AmendmentStatus.PENDING:
        raise Conflict(
            _("This request was already decided (%(status)s).")
            % {"status": locked.get_status_display()}
        )
    locked.status = AmendmentStatus.ACCEPTED if accept else AmendmentStatus.REFUSED
    locked.decided_by = actor
    locked.decided_at = now
    locked.reason = reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "reason", "updated_at"])
    audit.record(
        action=ACCEPTED if accept else REFUSED,
        actor=actor,
        subject=locked,
        patient=locked.patient_id,
        organization=locked.organization_id,
        details={"about": locked.about, "status": locked.status, "reason_chars": len(reason)},
        at=now,
    )
    nudges.queue_nudge(
        recipient=locked.patient,
        organization=locked.organization,
        template=DECIDED_TEMPLATE,
        context={"status": locked.status},
        key=f"amendment:{locked.pk}:decided",
        channels=["in_app"],
        not_before=now,
        transactional=True,
    )
    return locked


# Reads --------------------------------------------------------------------------------


def amendments_for(user: Any) -> QuerySet[AmendmentRequest]:
    """Requests a clinician may see and decide: of patients in their reach, at clinics
    where they hold a clinical role. Nobody else sees any (their own requests included:
    a clinician who is also a patient never decides their own)."""
    clinics = active_memberships(user).filter(role__in=CLINICAL_ROLES).values("organization_id")
    return (
        AmendmentRequest.objects.filter(
            organization_id__in=clinics, patient__in=patients_for(user).values("pk")
        )
        .exclude(patient_id=getattr(user, "pk", None))
        .select_related("patient", "organization", "decided_by")
    )


def pending_for(user: Any) -> list[AmendmentRequest]:
    """The requests waiting for a decision, oldest (nearest its deadline) first."""
    return list(amendments_for(user).filter(status=AmendmentStatus.PENDING).order_by("created_at"))


def decided_for(user: Any, *, limit: int = 20) -> list[AmendmentRequest]:
    """The latest decided requests, newest first."""
    return list(
        amendments_for(user).exclude(status=AmendmentStatus.PENDING).order_by("-decided_at")[:limit]
    )


def access_amendment(user: Any, pk: Any) -> AmendmentRequest:
    """One request in the clinician's reach, or 404."""
    amendment: AmendmentRequest = get_or_404(amendments_for(user), pk)
    return amendment
