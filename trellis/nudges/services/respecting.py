"""Respect, decided once for every channel: who may be nudged, when, and by which channel
(the rules are listed in the package's docstring and docs/nudges-delivery.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ObjectDoesNotExist

from trellis.accounts.models import Organization, User
from trellis.care.consent import latest_consents, latest_consents_of
from trellis.care.models import Consent, ConsentKind, Enrollment, Preferences
from trellis.core import timeutil
from trellis.nudges import respect
from trellis.nudges.channels import sms
from trellis.nudges.models import (
    Channel,
    ContactBlock,
    Delivery,
    DeliveryStatus,
    OutreachSettings,
    PushSubscription,
)

# A patient who has not chosen any reminder channel is reached in Trellis only; staff
# (digests, a patient who cannot be reached) in Trellis and by e-mail.
PATIENT_DEFAULT_CHANNELS = [Channel.IN_APP.value]
STAFF_DEFAULT_CHANNELS = [Channel.IN_APP.value, Channel.EMAIL.value]

# Withdrawing any of these stops every nudge (automated features: reminders are one).
CONSENTS_FOR_NUDGES = (ConsentKind.TREATMENT, ConsentKind.DATA_USE, ConsentKind.AUTOMATION)

COUNTED = (DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED)


@dataclass(frozen=True)
class Availability:
    """Whether a person may be nudged at a moment, why not, and by which channels."""

    available: bool
    reason: str
    channels: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# What Trellis knows about the person and their clinic


def _joined(instance: Any, attribute: str) -> tuple[bool, Any]:
    """(True, the row or None) if `instance` was read with its one-to-one `attribute`
    joined in (select_related, as the worker reads a delivery), else (False, None)."""
    descriptor = getattr(type(instance), attribute, None)
    if descriptor is None or not descriptor.is_cached(instance):
        return False, None
    try:
        return True, getattr(instance, attribute)
    except ObjectDoesNotExist:
        return True, None


def outreach_settings(organization: Organization | Any) -> OutreachSettings:
    """The clinic's outreach limits (the defaults, unsaved, if it never changed them)."""
    joined, found = _joined(organization, "outreach_settings")
    if not joined:
        found = OutreachSettings.objects.filter(organization_id=organization.pk).first()
    return found or OutreachSettings(organization_id=organization.pk)


def preferences_of(user: User | Any) -> Preferences | None:
    joined, found = _joined(user, "preferences")
    if joined:
        return found
    return Preferences.objects.filter(user_id=user.pk).first()


def zone_of(
    user: User | Any, organization: Organization | Any, prefs: Preferences | None = None
) -> ZoneInfo:
    """The person's own zone (the preference a patient chose, a staff member's setting),
    else the clinic's, else UTC."""
    names = (
        prefs.time_zone if prefs else "",
        getattr(user, "time_zone", ""),
        organization.time_zone,
    )
    for name in names:
        if name and timeutil.is_valid_zone(name):
            return timeutil.zone(name)
    return timeutil.UTC


def hours_for(
    user: User | Any, organization: Organization | Any, prefs: Preferences | None = None
) -> respect.Hours:
    limits = outreach_settings(organization)
    return respect.Hours(
        zone=zone_of(user, organization, prefs),
        allowed_from=limits.allowed_from,
        allowed_until=limits.allowed_until,
        quiet_start=prefs.quiet_hours_start if prefs else None,
        quiet_end=prefs.quiet_hours_end if prefs else None,
    )


def chosen_channels(prefs: Preferences | None, *, patient: bool) -> list[str]:
    chosen = [c for c in (prefs.reminder_channels if prefs else []) or [] if c in Channel.values]
    if chosen:
        return list(dict.fromkeys(chosen))
    return list(PATIENT_DEFAULT_CHANNELS if patient else STAFF_DEFAULT_CHANNELS)


def active_blocks(user: User | Any) -> list[ContactBlock]:
    return list(ContactBlock.objects.filter(user_id=user.pk, lifted_at__isnull=True))


def block_on(blocks: list[ContactBlock], channel: str) -> ContactBlock | None:
    for block_ in blocks:
        if block_.channel in ("", channel):
            return block_
    return None


def has_address(user: User | Any, channel: str) -> bool:
    if channel == Channel.EMAIL:
        return bool(user.email)
    if channel == Channel.SMS:
        return bool(getattr(user, "phone", ""))
    if channel == Channel.PUSH:
        return PushSubscription.objects.filter(user_id=user.pk).exists()
    return True


def _withdrawn(consents: list[Consent]) -> bool:
    return any(
        consent.document.kind in CONSENTS_FOR_NUDGES
        and (not consent.agreed or consent.withdrawn_at is not None)
        for consent in consents
    )


def consent_withdrawn(user: User | Any) -> bool:
    return _withdrawn(latest_consents(user))


@dataclass(frozen=True)
class Standing:
    """What stops nudges to a person whatever the delivery: a withdrawn consent and the
    blocks in force. The worker reads it for a whole batch at once (`standings`)."""

    consent_withdrawn: bool
    blocks: tuple[ContactBlock, ...]


def standing_of(user: User | Any) -> Standing:
    return Standing(consent_withdrawn(user), tuple(active_blocks(user)))


def standings(user_ids: Iterable[Any]) -> dict[Any, Standing]:
    """The standing of many people in two queries, by user id."""
    ids = list(dict.fromkeys(user_ids))
    consents = latest_consents_of(ids)
    blocks: dict[Any, list[ContactBlock]] = {}
    for found in ContactBlock.objects.filter(user_id__in=ids, lifted_at__isnull=True):
        blocks.setdefault(found.user_id, []).append(found)
    return {
        user_id: Standing(_withdrawn(consents.get(user_id, [])), tuple(blocks.get(user_id, [])))
        for user_id in ids
    }


def person_reason(
    recipient: User | Any, enrollment: Enrollment | None, *, withdrawn: bool | None = None
) -> str:
    """Why this person may not be nudged at all, or blank (`withdrawn`: whether a consent
    is withdrawn, when the caller has read it already)."""
    if not recipient.is_active:
        return "inactive_account"
    if enrollment is None:
        return ""
    if not enrollment.is_active:
        return f"enrollment_{enrollment.status}"
    if consent_withdrawn(recipient) if withdrawn is None else withdrawn:
        return "consent_withdrawn"
    return ""


def channel_reason(
    recipient: User | Any, channel: str, chosen: list[str], blocks: list[ContactBlock]
) -> str:
    if channel not in Channel.values:
        return "unknown_channel"
    found = block_on(blocks, channel)
    if found is not None:
        return f"blocked_{found.reason}"
    if channel not in chosen:
        return "channel_opted_out"
    if not has_address(recipient, channel):
        return "no_address"
    if channel == Channel.SMS and not sms.configured():
        return "sms_not_configured"  # no provider settings (docs/nudges-sms.md)
    return ""


def is_transactional(context: dict[str, Any], appointment_id: Any) -> bool:
    return appointment_id is not None or bool(context.get("transactional"))


def cap_reason(
    recipient: User | Any, organization: Organization | Any, zone: ZoneInfo, at: datetime
) -> str:
    """Whether one more nudge at `at` would go over the clinic's caps, counting the
    patient's nudges (one per nudge, whatever the number of channels) in their local day
    and week."""
    limits = outreach_settings(organization)
    week_start, week_end = respect.local_week_bounds(at, zone)
    day_start, day_end = respect.local_day_bounds(at, zone)
    rows = Delivery.objects.filter(
        recipient_id=recipient.pk,
        enrollment__isnull=False,
        appointment_id__isnull=True,
        status__in=COUNTED,
        not_before__gte=week_start,
        not_before__lt=week_end,
    ).values_list("key", "context", "not_before")
    week: set[str] = set()
    day: set[str] = set()
    for key, context, moment in rows:
        if is_transactional(context or {}, None):
            continue
        nudge = (context or {}).get("nudge_key") or key.rsplit(":", 1)[0]
        week.add(nudge)
        if day_start <= moment < day_end:
            day.add(nudge)
    return respect.cap_reached(
        today=len(day),
        this_week=len(week),
        daily_cap=limits.daily_cap,
        weekly_cap=limits.weekly_cap,
    )


def availability(
    *,
    recipient: User | Any,
    enrollment: Enrollment | None,
    at: datetime,
    transactional: bool = False,
    standing: Standing | None = None,
) -> Availability:
    """Whether `recipient` may be nudged at `at`, and through which channels.

    Available means: the enrollment is active, no consent withdrawn, no STOP, at least one
    channel the person chose that is not blocked and has an address, under the clinic's
    caps (unless transactional: an appointment text), inside the clinic's allowed hours
    and outside the person's quiet hours. `standing`: the person's consents and blocks,
    when the caller read them for many people at once.
    """
    timeutil.ensure_aware(at)
    standing = standing or standing_of(recipient)
    reason = person_reason(recipient, enrollment, withdrawn=standing.consent_withdrawn)
    if reason:
        return Availability(False, reason, [])
    prefs = preferences_of(recipient)
    blocks = list(standing.blocks)
    everywhere = next((b for b in blocks if b.channel == ""), None)
    if everywhere is not None:
        return Availability(False, f"blocked_{everywhere.reason}", [])
    chosen = chosen_channels(prefs, patient=enrollment is not None)
    channels = [c for c in chosen if not channel_reason(recipient, c, chosen, blocks)]
    if not channels:
        return Availability(False, "no_channel", [])
    organization = enrollment.organization if enrollment is not None else home_clinic(recipient)
    hours = hours_for(recipient, organization, prefs)
    if enrollment is not None and not transactional:
        reason = cap_reason(recipient, organization, hours.zone, at)
        if reason:
            return Availability(False, reason, channels)
    reason = hours.why_not(at)
    if reason:
        return Availability(False, reason, channels)
    return Availability(True, "", channels)


def home_clinic(user: User | Any) -> Organization:
    membership = user.memberships.filter(is_active=True).select_related("organization").first()
    if membership is None:
        raise ValueError(f"{user} belongs to no clinic")
    organization: Organization = membership.organization
    return organization
