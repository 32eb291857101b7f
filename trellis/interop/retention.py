"""Retention: a clinic keeps a patient's record for a set number of days after discharge,
then erases it.

A patient is due for erasure at a clinic when they have an enrollment there, none of their
enrollments anywhere is active, and at every clinic where they were enrolled the last
enrollment ended longer ago than that clinic's retention time (an erasure removes the
person everywhere, so no clinic's record goes before its own time). A member of staff is
never picked, nor a patient with an open safety alert (reported as held back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import STAFF_ROLES, Membership, Organization, User
from trellis.care.models import Enrollment, EnrollmentStatus
from trellis.core import timeutil
from trellis.interop.erasure.rules import refusals, settings_for
from trellis.interop.erasure.services import ErasureRefused, erase_person
from trellis.interop.models import DataRightsSettings, Erasure, ErasureStatus

logger = logging.getLogger(__name__)


@dataclass
class RetentionOutcome:
    """One clinic's pass: who was (or, in a dry run, would be) erased, and who was held
    back and why."""

    organization: Organization
    due: list[User] = field(default_factory=list)
    erased: list[Erasure] = field(default_factory=list)
    held_back: dict[Any, list[str]] = field(default_factory=dict)


def _retention_days(organizations: set[Any]) -> dict[Any, int]:
    days = {org: DataRightsSettings().retention_days for org in organizations}
    for row in DataRightsSettings.objects.filter(organization_id__in=organizations):
        days[row.organization_id] = row.retention_days
    return days


def due_for_erasure(organization: Organization, *, now: datetime) -> list[User]:
    """The patients of `organization` whose record is past every clinic's retention time."""
    days = settings_for(organization).retention_days
    ended_before = now - timedelta(days=days)
    erased = Erasure.objects.filter(status=ErasureStatus.DONE).values("person_id")
    candidates = (
        Enrollment.objects.filter(organization=organization)
        .values("patient_id")
        .annotate(last_end=Max("ended_at"))
        .filter(last_end__lte=ended_before)
        .exclude(patient_id__in=erased)
        .exclude(
            patient_id__in=Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).values(
                "patient_id"
            )
        )
        .exclude(
            patient_id__in=Enrollment.objects.filter(
                organization=organization, ended_at__isnull=True
            ).values("patient_id")
        )
        .exclude(patient_id__in=Membership.objects.filter(role__in=STAFF_ROLES).values("user_id"))
        .values_list("patient_id", flat=True)
    )
    ids = set(candidates)
    if not ids:
        return []
    # Elsewhere too: every clinic's own retention time must have passed.
    elsewhere = list(
        Enrollment.objects.filter(patient_id__in=ids)
        .exclude(organization=organization)
        .values("patient_id", "organization_id")
        .annotate(last_end=Max("ended_at"))
    )
    other_days = _retention_days({row["organization_id"] for row in elsewhere})
    for row in elsewhere:
        last_end = row["last_end"]
        limit = now - timedelta(days=other_days[row["organization_id"]])
        if last_end is None or last_end > limit:
            ids.discard(row["patient_id"])
    return list(User.objects.filter(pk__in=ids).order_by("created_at", "pk"))


def apply_retention(
    organization: Organization, *, now: datetime, dry_run: bool = False
) -> RetentionOutcome:
    """Erase (or, with `dry_run`, only list) every patient of the clinic whose record is due.
    Each erasure is its own transaction, so one refusal does not hold back the others."""
    outcome = RetentionOutcome(organization=organization)
    days = settings_for(organization).retention_days
    reason = f"Retention: {days} days after the last enrollment ended."
    for person in due_for_erasure(organization, now=now):
        found = refusals(person, organization, on_request=False)
        if found:
            outcome.held_back[person.pk] = [r.rule.value for r in found]
            continue
        outcome.due.append(person)
        if dry_run:
            continue
        try:
            outcome.erased.append(
                erase_person(
                    person,
                    organization=organization,
                    by=None,
                    reason=reason,
                    on_request=False,
                    now=now,
                )
            )
        except ErasureRefused as refused:
            outcome.held_back[person.pk] = [r.rule.value for r in refused.refusals]
    if not dry_run and (outcome.erased or outcome.held_back):
        with transaction.atomic():
            audit.record(
                action="retention.run",
                actor_label="retention job",
                organization=organization,
                details={"erased": len(outcome.erased), "held_back": len(outcome.held_back)},
                at=now,
            )
    return outcome


def apply_retention_everywhere(*, now: datetime | None = None) -> dict[str, int]:
    """The nightly job: every clinic in turn."""
    now = now or timeutil.now()
    erased = held = 0
    for organization in Organization.objects.order_by("name"):
        outcome = apply_retention(organization, now=now)
        erased += len(outcome.erased)
        held += len(outcome.held_back)
        if outcome.held_back:
            logger.warning(
                "retention held back %s patients at clinic %s",
                len(outcome.held_back),
                organization.pk,
            )
    return {"erased": erased, "held_back": held}


MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 365 * 30
MIN_K, MAX_K = 2, 100


@transaction.atomic
def update_data_rights(
    organization: Organization,
    *,
    actor: User,
    retention_days: int,
    erasure_on_request: bool,
    research_k: int,
    now: datetime,
) -> list[str]:
    """A clinic admin sets how long records are kept, whether patients may ask for erasure,
    and the research export's k. Returns the names of the settings that changed."""
    errors = {}
    if not MIN_RETENTION_DAYS <= retention_days <= MAX_RETENTION_DAYS:
        errors["retention_days"] = _("Between %(low)s and %(high)s days.") % {
            "low": MIN_RETENTION_DAYS,
            "high": MAX_RETENTION_DAYS,
        }
    if not MIN_K <= research_k <= MAX_K:
        errors["research_k"] = _("Between %(low)s and %(high)s.") % {"low": MIN_K, "high": MAX_K}
    if errors:
        raise ValidationError(errors)
    row, _created = DataRightsSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    wanted = {
        "retention_days": retention_days,
        "erasure_on_request": erasure_on_request,
        "research_k": research_k,
    }
    changed = [name for name, value in wanted.items() if getattr(row, name) != value]
    if not changed and not _created:
        return []
    for name in changed:
        setattr(row, name, wanted[name])
    row.save(update_fields=[*changed, "updated_at"])
    audit.record(
        action="data_rights.update",
        actor=actor,
        subject=row,
        organization=organization,
        details={name: wanted[name] for name in changed},
        at=now,
    )
    return changed
