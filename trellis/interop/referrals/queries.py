"""What a clinic admin sees of the referrals their clinic received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from trellis.accounts.models import Organization
from trellis.accounts.services.invitations import InvitationProblem, problem_with
from trellis.interop.models import Referral
from trellis.interop.referrals.incoming import masked

RECENT = 50


@dataclass(frozen=True)
class ReferralLine:
    referral: Referral
    sender: str
    identifier: str  # masked
    invitation_status: str


def invitation_status(referral: Referral, now: datetime) -> str:
    invitation = referral.invitation
    if invitation is None:
        return _("No invitation")
    problem = problem_with(invitation, now)
    return {
        None: _("Waiting to be accepted"),
        InvitationProblem.USED: _("Accepted"),
        InvitationProblem.REVOKED: _("Withdrawn"),
        InvitationProblem.EXPIRED: _("Expired"),
    }[problem]


def recent_referrals(organization: Organization, now: datetime) -> list[ReferralLine]:
    """The clinic's latest referrals, newest first, in a fixed number of queries."""
    found = (
        Referral.objects.filter(organization=organization)
        .select_related("client", "uploaded_by", "identifier", "invitation")
        .order_by("-created_at")[:RECENT]
    )
    lines = []
    for referral in found:
        if referral.client is not None:
            sender = referral.client.name
        elif referral.uploaded_by is not None:
            sender = referral.uploaded_by.display_name
        else:
            sender = "—"
        identifier = referral.identifier
        lines.append(
            ReferralLine(
                referral=referral,
                sender=sender,
                identifier=(
                    f"{identifier.system} {masked(identifier.value)}" if identifier else "—"
                ),
                invitation_status=invitation_status(referral, now),
            )
        )
    return lines
