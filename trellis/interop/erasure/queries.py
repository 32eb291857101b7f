"""Who may reach which data-rights page and request: clinic admins their clinic's requests,
researchers and admins their clinic's research export, a patient their own requests."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from trellis.accounts.models import Organization, Role, User
from trellis.accounts.queries import Capability, active_memberships, get_or_404, organizations_with
from trellis.care.models import Enrollment
from trellis.interop.models import Erasure, ErasureStatus

EXPORTERS = (Role.RESEARCHER, Role.ADMIN)


def managed_clinic(user: Any) -> Organization:
    """The clinic whose data rights the person manages (the first by name), or 403."""
    org = organizations_with(user, Capability.MANAGE_SETTINGS).order_by("name").first()
    if org is None:
        raise PermissionDenied(_("Only clinic admins can do this."))
    return org


def exporting_clinic(user: Any) -> Organization:
    """The clinic whose research export the person may take (researcher or admin), or 403."""
    org_ids = active_memberships(user).filter(role__in=EXPORTERS).values("organization_id")
    org = Organization.objects.filter(pk__in=org_ids).order_by("name").first()
    if org is None:
        raise PermissionDenied(_("The research export is for researchers and clinic admins."))
    return org


def patients_clinic(user: Any) -> Organization | None:
    """The clinic a patient's erasure request goes to: where they were enrolled last, else
    where they are a patient."""
    latest = (
        Enrollment.objects.filter(patient=user)
        .select_related("organization")
        .order_by("-started_at")
        .first()
    )
    if latest is not None:
        return latest.organization
    membership = active_memberships(user).filter(role=Role.PATIENT).first()
    return membership.organization if membership is not None else None


def waiting_requests(organization: Organization) -> QuerySet[Erasure]:
    return Erasure.objects.filter(
        organization=organization, status=ErasureStatus.REQUESTED
    ).order_by("created_at")


def decided(organization: Organization, *, limit: int = 50) -> QuerySet[Erasure]:
    """The clinic's latest erasures and refusals (no names: the person is gone)."""
    return (
        Erasure.objects.filter(organization=organization)
        .exclude(status=ErasureStatus.REQUESTED)
        .select_related("decided_by")
        .order_by("-updated_at")[:limit]
    )


def access_waiting_request(organization: Organization, pk: Any) -> Erasure:
    """A request waiting at the admin's clinic, or 404."""
    found: Erasure = get_or_404(waiting_requests(organization), pk)
    return found


def requester(erasure: Erasure) -> User | None:
    return User.objects.filter(pk=erasure.person_id).first()


def own_requests(user: Any) -> QuerySet[Erasure]:
    return Erasure.objects.filter(person_id=user.pk).order_by("-created_at")


def patient_of(organization: Organization, email: str) -> User | None:
    """The patient of this clinic with this e-mail address, if there is one."""
    return (
        User.objects.filter(email__iexact=(email or "").strip())
        .filter(pk__in=Enrollment.objects.filter(organization=organization).values("patient_id"))
        .first()
        or User.objects.filter(
            email__iexact=(email or "").strip(),
            memberships__organization=organization,
            memberships__role=Role.PATIENT,
        ).first()
    )
