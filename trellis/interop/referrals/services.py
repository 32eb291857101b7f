"""Referrals in: every referral becomes a patient invitation through onboarding, or is
reported as already invited, already enrolled, or refused, and is kept as a `Referral` row
with its audit event. One call takes a whole Bundle or file in one transaction: when any
referral cannot be taken (an unknown program, a clinic with no inviting clinician), none
is, and nothing is written.

Matching is by the patient's identifier in the sender's system (`PatientIdentifier`:
clinic + system + value), then by e-mail address. The identifier points at the patient's
account once there is one: when they accept the invitation, `link_accepted_identifiers`
(run at the start of every import, and callable by anyone who needs it current) follows
the referral's invitation to the account it made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import (
    CLINICAL_ROLES,
    Invitation,
    Membership,
    Organization,
    Role,
    Team,
    User,
)
from trellis.accounts.queries import holds_role
from trellis.care.models import Enrollment, EnrollmentStatus, SupportLevel
from trellis.interop.models import (
    BackendClient,
    PatientIdentifier,
    Referral,
    ReferralOutcome,
    ReferralSettings,
    ReferralSource,
)
from trellis.interop.referrals.incoming import IncomingReferral, masked
from trellis.onboarding.services import invite_patient
from trellis.programs.models import Program, ProgramVersion
from trellis.programs.queries import latest_version


@dataclass(frozen=True)
class Refusal:
    """Why a whole import was refused before anything was written: about one referral
    (`field` "program") or about the clinic's settings (`referral` None)."""

    referral: IncomingReferral | None
    field: str
    message: str


class ReferralsRefused(Exception):
    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(r.message for r in refusals))


@dataclass(frozen=True)
class ReferralResult:
    """What became of one referral."""

    incoming: IncomingReferral
    referral: Referral
    message: str

    @property
    def outcome(self) -> str:
        return self.referral.outcome


@dataclass(frozen=True)
class _Plan:
    program_version: ProgramVersion
    support_level: str


def settings_of(organization: Organization) -> ReferralSettings | None:
    return (
        ReferralSettings.objects.select_related("inviter", "default_program")
        .filter(organization=organization)
        .first()
    )


def inviter_of(organization: Organization) -> User | None:
    """The clinician in whose name referred patients are invited, if the clinic chose one
    who is still a coach, therapist or supervisor there."""
    found = settings_of(organization)
    if found is None or found.inviter is None:
        return None
    if not holds_role(found.inviter, organization, CLINICAL_ROLES):
        return None
    return found.inviter


@transaction.atomic
def save_referral_settings(
    *,
    organization: Organization,
    inviter: User | None,
    default_program: Program | None,
    default_support_level: str,
    actor: User,
) -> ReferralSettings:
    """A clinic admin chooses who invites referred patients, and the defaults."""
    if inviter is not None and not holds_role(inviter, organization, CLINICAL_ROLES):
        raise ValidationError(
            {"inviter": _("Choose a coach, therapist or supervisor of this clinic.")}
        )
    if default_support_level not in SupportLevel.values:
        raise ValidationError({"default_support_level": _("Choose a level of support.")})
    found, _created = ReferralSettings.objects.get_or_create(organization=organization)
    found.inviter = inviter
    found.default_program = default_program
    found.default_support_level = default_support_level
    found.save(update_fields=["inviter", "default_program", "default_support_level", "updated_at"])
    audit.record(
        action="referral.settings",
        actor=actor,
        subject=found,
        organization=organization,
        details={
            "inviter": str(inviter.pk) if inviter else "",
            "default_program": default_program.slug if default_program else "",
            "default_support_level": default_support_level,
        },
    )
    return found


def _plans(
    organization: Organization, incoming: Sequence[IncomingReferral]
) -> tuple[User, list[_Plan]]:
    """The inviter and each referral's program and level, or ReferralsRefused."""
    settings = settings_of(organization)
    refusals: list[Refusal] = []
    inviter = inviter_of(organization)
    if inviter is None:
        refusals.append(
            Refusal(
                None,
                "inviter",
                _(
                    "The clinic has not chosen the clinician in whose name referred patients "
                    "are invited. A clinic admin chooses one on the Referrals page."
                ),
            )
        )
    default_slug = settings.default_program.slug if settings and settings.default_program else ""
    default_level = settings.default_support_level if settings else SupportLevel.SELF_GUIDED
    versions: dict[str, ProgramVersion | None] = {}
    plans: list[_Plan] = []
    for referral in incoming:
        slug = referral.program or default_slug
        if not slug:
            refusals.append(
                Refusal(
                    referral,
                    "program",
                    _("Name a program, or choose the clinic's default program for referrals."),
                )
            )
            continue
        if slug not in versions:
            versions[slug] = latest_version(slug)
        version = versions[slug]
        if version is None:
            refusals.append(
                Refusal(
                    referral,
                    "program",
                    _("There is no published program “%(slug)s”.") % {"slug": slug[:80]},
                )
            )
            continue
        plans.append(_Plan(version, referral.support_level or default_level))
    if refusals:
        raise ReferralsRefused(refusals)
    assert inviter is not None
    return inviter, plans


def receive_referrals(
    *,
    organization: Organization,
    incoming: Sequence[IncomingReferral],
    source: str,
    now: datetime,
    client: BackendClient | None = None,
    uploaded_by: User | None = None,
) -> list[ReferralResult]:
    """Take a Bundle's or a file's referrals, in one transaction: each becomes an invitation
    (e-mailed when the transaction commits) or is reported. Refuses the whole lot
    (ReferralsRefused, nothing written) when any referral cannot be planned."""
    if source not in ReferralSource.values:
        raise ValueError(f"unknown referral source {source!r}")
    if (client is None) == (uploaded_by is None):
        raise ValueError("a referral comes from a client or from a person, not both")
    with transaction.atomic():
        inviter, plans = _plans(organization, incoming)
        link_accepted_identifiers(organization)
        membership = (
            Membership.objects.select_related("team")
            .filter(user=inviter, organization=organization)
            .first()
        )
        team = membership.team if membership is not None else None
        results = []
        for referral, plan in zip(incoming, plans, strict=True):
            results.append(
                _receive_one(
                    organization=organization,
                    incoming=referral,
                    plan=plan,
                    inviter=inviter,
                    team=team,
                    source=source,
                    client=client,
                    uploaded_by=uploaded_by,
                    now=now,
                )
            )
        return results


def _receive_one(
    *,
    organization: Organization,
    incoming: IncomingReferral,
    plan: _Plan,
    inviter: User,
    team: Team | None,
    source: str,
    client: BackendClient | None,
    uploaded_by: User | None,
    now: datetime,
) -> ReferralResult:
    identifier, _created = PatientIdentifier.objects.select_for_update().get_or_create(
        organization=organization,
        system=incoming.identifier_system,
        value=incoming.identifier_value,
    )
    open_invitations = Invitation.objects.filter(
        organization=organization,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    )
    invitation: Invitation | None = None
    outcome, message = "", ""

    if identifier.patient_id is None:
        earlier = (
            open_invitations.filter(
                pk__in=Referral.objects.filter(identifier=identifier).values("invitation")
            )
            .order_by("-created_at")
            .first()
        )
        if earlier is not None:
            invitation = earlier
            outcome = ReferralOutcome.ALREADY_INVITED
            message = _("This patient already has an open invitation; it was not sent again.")

    if not outcome and identifier.patient_id is None:
        account = User.objects.filter(email__iexact=incoming.email).first()
        membership = (
            Membership.objects.filter(user=account, organization=organization).first()
            if account
            else None
        )
        if membership is not None and membership.role != Role.PATIENT:
            outcome = ReferralOutcome.REFUSED
            message = _("The e-mail address belongs to a member of the clinic's staff.")
        elif membership is not None and account is not None:
            _link(identifier, account, how="email", organization=organization)
        else:
            pending = (
                open_invitations.filter(email__iexact=incoming.email)
                .order_by("-created_at")
                .first()
            )
            if pending is not None and pending.role != Role.PATIENT:
                outcome = ReferralOutcome.REFUSED
                message = _("The e-mail address has an open invitation to join the staff.")
            elif pending is not None:
                invitation = pending
                outcome = ReferralOutcome.ALREADY_INVITED
                message = _("This patient already has an open invitation; it was not sent again.")

    if not outcome and identifier.patient_id is not None:
        enrolled = Enrollment.objects.filter(
            patient_id=identifier.patient_id,
            organization=organization,
            status=EnrollmentStatus.ACTIVE,
        ).exists()
        if enrolled:
            outcome = ReferralOutcome.ALREADY_ENROLLED
            message = _("This patient is already enrolled at the clinic; nothing was sent.")
        else:
            outcome = ReferralOutcome.REFUSED
            message = _(
                "This patient has an account at the clinic but no active program; "
                "a clinician enrolls them again from their record."
            )

    if not outcome:
        supporters = [] if plan.support_level == SupportLevel.SELF_GUIDED else [inviter]
        try:
            invitation, _token = invite_patient(
                organization=organization,
                email=incoming.email,
                full_name=incoming.full_name,
                program_version=plan.program_version,
                support_level=plan.support_level,
                supporters=supporters,
                actor=inviter,
                now=now,
                team=team,
            )
        except ValidationError as error:
            outcome = ReferralOutcome.REFUSED
            message = " ".join(error.messages)
        else:
            outcome = ReferralOutcome.INVITED
            message = _("An invitation was e-mailed to the patient.")

    note = incoming.extra_details()
    if outcome == ReferralOutcome.REFUSED:
        note = f"{message}\n{note}".strip()
    referral = Referral.objects.create(
        organization=organization,
        source=source,
        client=client,
        uploaded_by=uploaded_by,
        identifier=identifier,
        outcome=outcome,
        invitation=invitation,
        note=note,
    )
    details: dict[str, str] = {
        "source": source,
        "outcome": outcome,
        "identifier_system": identifier.system,
        "identifier": masked(identifier.value),
        "program": plan.program_version.program.slug,
        "support_level": plan.support_level,
        "invitation": str(invitation.pk) if invitation else "",
    }
    if client is not None:
        details.update(client=client.name, client_id=client.client_id)
    if incoming.request_id:
        details["service_request"] = incoming.request_id
    audit.record(
        action="referral.receive",
        actor=uploaded_by,
        actor_label=f"{client.name} ({client.client_id})" if client is not None else "",
        subject=referral,
        patient=identifier.patient_id,
        organization=organization,
        details=details,
        at=now,
    )
    return ReferralResult(incoming=incoming, referral=referral, message=message)


def _link(
    identifier: PatientIdentifier, patient: User | Any, *, how: str, organization: Any
) -> None:
    """Point the identifier at the patient's account (a User or its id), with its audit row."""
    identifier.patient_id = patient.pk if isinstance(patient, User) else patient
    identifier.save(update_fields=["patient", "updated_at"])
    audit.record(
        action="identifier.link",
        subject=identifier,
        patient=identifier.patient_id,
        organization=organization,
        details={
            "identifier_system": identifier.system,
            "identifier": masked(identifier.value),
            "how": how,
        },
    )


@transaction.atomic
def link_accepted_identifiers(organization: Organization | None = None) -> int:
    """Point every identifier whose referral's invitation has been accepted at the account
    that accepted it; returns how many were linked. Idempotent and cheap when there is
    nothing to do, so any reader of identifiers may call it first."""
    found = Referral.objects.filter(
        identifier__patient__isnull=True, invitation__accepted_user__isnull=False
    )
    if organization is not None:
        found = found.filter(organization=organization)
    pairs = dict(
        found.order_by("created_at").values_list("identifier_id", "invitation__accepted_user_id")
    )
    linked = 0
    for identifier in PatientIdentifier.objects.select_for_update().filter(
        pk__in=list(pairs), patient__isnull=True
    ):
        _link(
            identifier,
            pairs[identifier.pk],
            how="invitation accepted",
            organization=identifier.organization_id,
        )
        linked += 1
    return linked
