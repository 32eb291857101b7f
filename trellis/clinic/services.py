"""Running a clinic: the writes that reach across apps, one function per thing an admin does.

Changing what a member of staff is to the clinic (their role, or whether they may use it at
all) belongs to accounts; what that means for patient safety belongs to alerts, which stands
above accounts. This layer joins the two in one transaction, so the page and the API do the
same thing and no open safety alert is left with someone who can no longer act on it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from trellis.accounts.models import Membership, User
from trellis.accounts.services import people
from trellis.alerts.queries import ON_CALL_ROLES
from trellis.alerts.safety import reassign_open_safety_alerts


@transaction.atomic
def change_access(
    membership: Membership,
    *,
    actor: User,
    now: datetime,
    role: str | None = None,
    active: bool | None = None,
) -> Membership:
    """An admin gives someone another role at the clinic, suspends their access or restores it
    (any of these, in that order; None leaves it as it is).

    When the change means the person can no longer take safety alerts (suspended, or moved
    to a role other than therapist or supervisor), their open safety alerts at the clinic are
    handed on at once, in the same transaction, to the next person in the order used when an
    alert is raised (`trellis.alerts.safety.reassign_open_safety_alerts`), each audited.
    Raises ValidationError for a change the accounts services refuse (one's own access, an
    unknown role, a patient account becoming staff); then nothing is changed.
    """
    before_role, before_active = membership.role, membership.is_active
    if role is not None:
        people.change_role(membership=membership, role=role, actor=actor)
    if active is not None:
        people.set_membership_active(membership=membership, active=active, actor=actor)
    why = _why_alerts_move(membership, before_role=before_role, before_active=before_active)
    if why:
        reassign_open_safety_alerts(
            membership.user, membership.organization, actor=actor, why=why, now=now
        )
    return membership


def _why_alerts_move(membership: Membership, *, before_role: str, before_active: bool) -> str:
    """Why the person's open safety alerts must go to someone else, or "" when they need not."""
    if before_active and not membership.is_active:
        return "access to the clinic suspended"
    if membership.role != before_role and membership.role not in ON_CALL_ROLES:
        return f"role changed from {before_role} to {membership.role} (no safety alerts)"
    return ""
