"""Reads of insights that depend on who asks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from trellis.accounts.models import CLINICAL_ROLES, Organization, Role
from trellis.accounts.queries import active_memberships
from trellis.insights.models import RiskScore

# Who may read a clinic's dropout-risk model page: its clinicians and its administrators.
MODEL_READERS = frozenset({*CLINICAL_ROLES, Role.ADMIN})


def clinics_for_model_page(user: Any) -> QuerySet[Organization]:
    """The clinics whose model page this person may read."""
    ids = active_memberships(user).filter(role__in=MODEL_READERS).values("organization_id")
    return Organization.objects.filter(pk__in=ids).order_by("name")


def latest_score(enrollment_id: Any) -> RiskScore | None:
    """The newest score of one enrollment (the caller has checked the enrollment is in
    reach)."""
    return (
        RiskScore.objects.filter(enrollment_id=enrollment_id)
        .select_related("model")
        .order_by("-scored_at")
        .first()
    )
