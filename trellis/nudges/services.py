"""Every write of the nudges pipeline: queue a nudge, block and lift a channel, record what
a channel or a provider answered, mark a nudge opened, read notifications.

Respect is decided here, once, for every channel (docs/nudges-delivery.md):

- nothing for an enrollment that is not active (discharged, completed, withdrawn) or
  after a patient withdrew consent (treatment, data use or automated features);
- nothing on a channel the person did not choose, has no address for, or has blocked
  (STOP blocks every channel; an unsubscribe or an address that does not work, one);
- at most the clinic's daily and weekly caps of nudges per patient, counted in the
  patient's own local day and week (a nudge sent by two channels counts once;
  appointment texts are transactional and not counted, but STOP still stops them);
- only in the clinic's allowed hours and outside the patient's quiet hours, in the
  patient's zone: a nudge queued in quiet hours waits for them to end, and is not sent
  at all if that is after it expires.

Every nudge that is not sent is still a Delivery row, status suppressed, with its reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, User
from trellis.care.consent import latest_consents
from trellis.care.models import ConsentKind, Enrollment, Preferences
from trellis.care.queries import supporters_of
from trellis.core import timeutil
from trellis.engagement.events import emit
from trellis.nudges import respect
from trellis.nudges.channels import Outcome, sender_for, sms
from trellis.nudges.messages import render
from trellis.nudges.models import (
    BlockReason,
    Channel,
    ContactBlock,
    DecisionPoint,
    Delivery,
    DeliveryStatus,
    Notification,
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


def outreach_settings(organization: Organization | Any) -> OutreachSettings:
    """The clinic's outreach limits (the defaults, unsaved, if it never changed them)."""
    found = OutreachSettings.objects.filter(organization_id=organization.pk).first()
    return found or OutreachSettings(organization_id=organization.pk)


def preferences_of(user: User | Any) -> Preferences | None:
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


def _block_on(blocks: list[ContactBlock], channel: str) -> ContactBlock | None:
    for block_ in blocks:
        if block_.channel in ("", channel):
            return block_
    return None


def _has_address(user: User | Any, channel: str) -> bool:
    if channel == Channel.EMAIL:
        return bool(user.email)
    if channel == Channel.SMS:
        return bool(getattr(user, "phone", ""))
    if channel == Channel.PUSH:
        return PushSubscription.objects.filter(user_id=user.pk).exists()
    return True


def _consent_withdrawn(user: User | Any) -> bool:
    for consent in latest_consents(user):
        if consent.document.kind in CONSENTS_FOR_NUDGES and (
            not consent.agreed or consent.withdrawn_at is not None
        ):
            return True
    return False


def _person_reason(recipient: User | Any, enrollment: Enrollment | None) -> str:
    """Why this person may not be nudged at all, or blank."""
    if not recipient.is_active:
        return "inactive_account"
    if enrollment is None:
        return ""
    if not enrollment.is_active:
        return f"enrollment_{enrollment.status}"
    if _consent_withdrawn(recipient):
        return "consent_withdrawn"
    return ""


def _channel_reason(
    recipient: User | Any, channel: str, chosen: list[str], blocks: list[ContactBlock]
) -> str:
    if channel not in Channel.values:
        return "unknown_channel"
    found = _block_on(blocks, channel)
    if found is not None:
        return f"blocked_{found.reason}"
    if channel not in chosen:
        return "channel_opted_out"
    if not _has_address(recipient, channel):
        return "no_address"
    if channel == Channel.SMS and not sms.configured():
        return "sms_not_configured"  # no provider settings (docs/nudges-sms.md)
    return ""


def _is_transactional(context: dict[str, Any], appointment_id: Any) -> bool:
    return appointment_id is not None or bool(context.get("transactional"))


def _cap_reason(
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
        if _is_transactional(context or {}, None):
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
) -> Availability:
    """Whether `recipient` may be nudged at `at`, and through which channels.

    Available means: the enrollment is active, no consent withdrawn, no STOP, at least one
    channel the person chose that is not blocked and has an address, under the clinic's
    caps (unless transactional: an appointment text), inside the clinic's allowed hours
    and outside the person's quiet hours.
    """
    timeutil.ensure_aware(at)
    reason = _person_reason(recipient, enrollment)
    if reason:
        return Availability(False, reason, [])
    prefs = preferences_of(recipient)
    blocks = active_blocks(recipient)
    everywhere = next((b for b in blocks if b.channel == ""), None)
    if everywhere is not None:
        return Availability(False, f"blocked_{everywhere.reason}", [])
    chosen = chosen_channels(prefs, patient=enrollment is not None)
    channels = [c for c in chosen if not _channel_reason(recipient, c, chosen, blocks)]
    if not channels:
        return Availability(False, "no_channel", [])
    organization = enrollment.organization if enrollment is not None else _home_clinic(recipient)
    hours = hours_for(recipient, organization, prefs)
    if enrollment is not None and not transactional:
        reason = _cap_reason(recipient, organization, hours.zone, at)
        if reason:
            return Availability(False, reason, channels)
    reason = hours.why_not(at)
    if reason:
        return Availability(False, reason, channels)
    return Availability(True, "", channels)


def _home_clinic(user: User | Any) -> Organization:
    membership = user.memberships.filter(is_active=True).select_related("organization").first()
    if membership is None:
        raise ValueError(f"{user} belongs to no clinic")
    organization: Organization = membership.organization
    return organization


# ---------------------------------------------------------------------------------------
# Queueing


@transaction.atomic
def queue_nudge(
    *,
    recipient: User | Any,
    organization: Organization | Any,
    template: str,
    context: dict[str, Any],
    key: str,
    enrollment: Enrollment | None = None,
    decision: DecisionPoint | None = None,
    appointment_id: uuid.UUID | None = None,
    channels: list[str] | None = None,
    not_before: datetime,
    expires_at: datetime | None = None,
    transactional: bool = False,
) -> list[Delivery]:
    """One Delivery per channel, keyed f"{key}:{channel}": queued, or suppressed with its
    reason. Calling again with the same key returns the same rows and changes nothing.

    `channels` blank: the channels the person chose. A nudge that falls in quiet hours or
    outside the allowed hours waits (`not_before` moves to the next allowed moment) and is
    suppressed if that is after `expires_at`.
    """
    timeutil.ensure_aware(not_before)
    if not key or len(key) > 150:
        raise ValueError("a nudge key is 1 to 150 characters")
    existing = list(
        Delivery.objects.filter(key__in=[f"{key}:{c}" for c in Channel.values]).order_by("channel")
    )
    if existing:
        return existing
    if enrollment is not None and not transactional:
        # One patient's nudges are counted against the caps one at a time.
        User.objects.select_for_update().filter(pk=recipient.pk).exists()
    prefs = preferences_of(recipient)
    blocks = active_blocks(recipient)
    patient = enrollment is not None
    chosen = chosen_channels(prefs, patient=patient)
    wanted = list(dict.fromkeys(channels)) if channels else chosen
    unknown = [c for c in wanted if c not in Channel.values]
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r}")
    reason = _person_reason(recipient, enrollment)
    hours = hours_for(recipient, organization, prefs)
    send_at: datetime | None = not_before
    if not reason:
        send_at = hours.next_allowed(not_before)
        if send_at is None:
            reason = "no_allowed_hours"
        elif expires_at is not None and send_at >= expires_at:
            reason = hours.why_not(not_before) or "expired"
    if not reason and patient and not transactional:
        any_channel = [c for c in wanted if not _channel_reason(recipient, c, chosen, blocks)]
        if any_channel:
            reason = _cap_reason(recipient, organization, hours.zone, send_at or not_before)
    values = {**context, "nudge_key": key}
    if transactional:
        values["transactional"] = True
    rows = []
    for channel in wanted:
        why = reason or _channel_reason(recipient, channel, chosen, blocks)
        row, _created = Delivery.objects.get_or_create(
            key=f"{key}:{channel}",
            defaults={
                "organization_id": organization.pk,
                "recipient_id": recipient.pk,
                "enrollment": enrollment,
                "decision": decision,
                "appointment_id": appointment_id,
                "channel": channel,
                "template": template,
                "context": values,
                "status": DeliveryStatus.SUPPRESSED if why else DeliveryStatus.QUEUED,
                "reason": why,
                "not_before": send_at or not_before,
                "expires_at": expires_at,
                "next_attempt_at": None if why else send_at,
            },
        )
        rows.append(row)
    return rows


def suppress(delivery: Delivery, reason: str, *, at: datetime) -> Delivery:
    """A queued delivery is not sent after all (a STOP came, the enrollment ended ...)."""
    delivery.status = DeliveryStatus.SUPPRESSED
    delivery.reason = reason[:80]
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "reason", "next_attempt_at", "updated_at"])
    return delivery


def send_time_reason(delivery: Delivery, *, at: datetime) -> str:
    """Why a queued delivery must not go now after all (something changed since it was
    queued), or blank. Caps are not counted again: they were decided when it was queued."""
    if delivery.expires_at is not None and at >= delivery.expires_at:
        return "expired"
    reason = _person_reason(delivery.recipient, delivery.enrollment)
    if reason:
        return reason
    found = _block_on(active_blocks(delivery.recipient), delivery.channel)
    if found is not None:
        return f"blocked_{found.reason}"
    return ""


def hours_of_delivery(delivery: Delivery) -> respect.Hours:
    return hours_for(delivery.recipient, delivery.organization, preferences_of(delivery.recipient))


# ---------------------------------------------------------------------------------------
# Blocks: STOP, unsubscribe, an address that does not work


@transaction.atomic
def block(
    user: User | Any,
    *,
    channel: str = "",
    reason: str,
    detail: str = "",
    by: User | None = None,
    at: datetime | None = None,
) -> ContactBlock:
    """Stop reaching a person on one channel (blank: on every channel) until lifted, and
    suppress what is queued for them there. A second block on the same channel returns
    the one in force."""
    if channel and channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if reason not in BlockReason.values:
        raise ValueError(f"unknown block reason {reason!r}")
    at = at or timeutil.now()
    current = ContactBlock.objects.filter(
        user_id=user.pk, channel=channel, lifted_at__isnull=True
    ).first()
    if current is not None:
        return current
    created = ContactBlock.objects.create(
        user_id=user.pk, channel=channel, reason=reason, detail=detail[:200]
    )
    queued = Delivery.objects.filter(recipient_id=user.pk, status=DeliveryStatus.QUEUED)
    if channel:
        queued = queued.filter(channel=channel)
    queued.update(
        status=DeliveryStatus.SUPPRESSED,
        reason=f"blocked_{reason}",
        next_attempt_at=None,
        updated_at=at,
    )
    audit.record(
        action="nudges.block",
        actor=by,
        actor_label="" if by else "trellis",
        subject=created,
        patient=user.pk,
        details={"channel": channel or "every", "reason": reason},
        at=at,
    )
    return created


@transaction.atomic
def lift(
    user: User | Any,
    channel: str = "",
    *,
    reason: str = "",
    by: User | None = None,
    at: datetime | None = None,
) -> int:
    """Reach the person on that channel again (blank: lift the block on every channel,
    such as STOP; blocks of single channels stay). `reason` lifts only blocks of that
    reason. Returns how many blocks were lifted."""
    at = at or timeutil.now()
    blocks = ContactBlock.objects.filter(user_id=user.pk, channel=channel, lifted_at__isnull=True)
    if reason:
        blocks = blocks.filter(reason=reason)
    lifted = list(blocks)
    for found in lifted:
        found.lifted_at = at
        found.save(update_fields=["lifted_at", "updated_at"])
        audit.record(
            action="nudges.unblock",
            actor=by,
            actor_label="" if by else "trellis",
            subject=found,
            patient=user.pk,
            details={"channel": channel or "every", "reason": found.reason},
            at=at,
        )
    return len(lifted)


# ---------------------------------------------------------------------------------------
# Outcomes


def max_attempts() -> int:
    return int(getattr(settings, "TRELLIS_NUDGES_MAX_ATTEMPTS", respect.MAX_ATTEMPTS))


def record_outcome(delivery: Delivery, outcome: Outcome, *, at: datetime) -> Delivery:
    """Record what a channel answered for one delivery (call inside the transaction that
    holds the delivery's row lock)."""
    was_sent = delivery.sent_at is not None
    fields = ["status", "reason", "attempts", "next_attempt_at", "updated_at"]
    delivery.attempts += 1
    delivery.reason = outcome.reason[:80]
    if outcome.provider_id:
        delivery.provider_id = outcome.provider_id[:120]
        fields.append("provider_id")
    if outcome.status in ("sent", "delivered"):
        delivery.status = DeliveryStatus(outcome.status)
        delivery.next_attempt_at = None
        if delivery.sent_at is None:
            delivery.sent_at = at
            fields.append("sent_at")
        if outcome.status == "delivered":
            delivery.delivered_at = at
            fields.append("delivered_at")
        delivery.save(update_fields=fields)
        if not was_sent and delivery.enrollment_id is not None:
            emit(delivery.enrollment, "reminder_sent", at=at, value=delivery.channel)  # type: ignore[arg-type]
        return delivery
    if outcome.status == "temporary" and delivery.attempts < max_attempts():
        delivery.status = DeliveryStatus.QUEUED
        delivery.next_attempt_at = respect.next_attempt(
            at, delivery.attempts, retry_after=outcome.retry_after, key=delivery.key
        )
        delivery.save(update_fields=fields)
        return delivery
    delivery.status = DeliveryStatus.FAILED
    delivery.next_attempt_at = None
    delivery.failed_at = at
    if outcome.status == "temporary":
        delivery.reason = (f"gave up after {delivery.attempts} attempts: " + outcome.reason)[:80]
    fields.append("failed_at")
    delivery.save(update_fields=fields)
    if outcome.status == "permanent":
        permanent_failure(delivery, detail=outcome.reason, at=at)
    return delivery


def permanent_failure(delivery: Delivery, *, detail: str, at: datetime) -> None:
    """An address that does not work: stop using that channel for the person, and tell
    their supporters (an in-app notification to each, and a line in the audit trail of
    the patient's record)."""
    if delivery.channel == Channel.IN_APP:
        return
    block(
        delivery.recipient,
        channel=delivery.channel,
        reason=BlockReason.PERMANENT_FAILURE,
        detail=detail,
        at=at,
    )
    tell_supporters(delivery, at=at)


def tell_supporters(delivery: Delivery, *, at: datetime) -> list[Delivery]:
    """Each active supporter of the patient finds a notification that the patient cannot be
    reached on that channel any more (written now, in the same transaction)."""
    enrollment = delivery.enrollment
    if enrollment is None:
        return []
    told = []
    for member in supporters_of(enrollment):
        rows = queue_nudge(
            recipient=member.supporter,
            organization=delivery.organization,
            template="contact_failed",
            context={
                "patient_name": delivery.recipient.display_name,
                "channel": delivery.channel,
                "enrollment_id": str(enrollment.pk),
            },
            key=f"contact_failed:{delivery.pk}:{member.supporter_id}",
            channels=[Channel.IN_APP],
            not_before=at,
            transactional=True,
        )
        for row in rows:
            if row.status == DeliveryStatus.QUEUED:
                # In-app waits for no hours: it interrupts nobody.
                outcome = sender_for(Channel.IN_APP).send(row, render(row))
                record_outcome(row, outcome, at=at)
            told.append(row)
    audit.record(
        action="nudges.contact_failed",
        actor=None,
        actor_label="trellis",
        subject=delivery,
        patient=delivery.recipient_id,
        organization=delivery.organization_id,
        details={
            "channel": delivery.channel,
            "reason": delivery.reason,
            "supporters_told": len(told),
        },
        at=at,
    )
    return told


PROVIDER_STATUSES = {"sent", "delivered", "temporary", "permanent", "failed"}


@transaction.atomic
def record_provider_status(
    *, channel: str, provider_id: str, status: str, reason: str = "", at: datetime
) -> Delivery | None:
    """A provider's delivery report (an SMS status callback) for the delivery it names:
    delivered, failed for good (then the channel is blocked and the supporters told), or
    failed for now (tried again with backoff). Reports never move a delivery backwards;
    an unknown provider id answers None and changes nothing."""
    if status not in PROVIDER_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    if not provider_id:
        return None
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("recipient", "organization", "enrollment")
        .filter(channel=channel, provider_id=provider_id)
        .first()
    )
    if delivery is None:
        return None
    if delivery.status in (DeliveryStatus.FAILED, DeliveryStatus.SUPPRESSED):
        return delivery
    if status == "sent":
        return delivery
    if status == "delivered":
        if delivery.status != DeliveryStatus.DELIVERED:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = at
            delivery.sent_at = delivery.sent_at or at
            delivery.reason = ""
            delivery.save(
                update_fields=["status", "delivered_at", "sent_at", "reason", "updated_at"]
            )
        return delivery
    if delivery.status == DeliveryStatus.DELIVERED:
        return delivery
    if status == "temporary":
        # The provider could not hand it over this time: try again from our side.
        if delivery.attempts >= max_attempts():
            delivery.status = DeliveryStatus.FAILED
            delivery.failed_at = at
            delivery.reason = (reason or "undelivered")[:80]
            delivery.save(update_fields=["status", "failed_at", "reason", "updated_at"])
            return delivery
        delivery.status = DeliveryStatus.QUEUED
        delivery.reason = (reason or "undelivered")[:80]
        delivery.next_attempt_at = respect.next_attempt(at, delivery.attempts, key=delivery.key)
        delivery.save(update_fields=["status", "reason", "next_attempt_at", "updated_at"])
        return delivery
    delivery.status = DeliveryStatus.FAILED
    delivery.failed_at = at
    delivery.reason = (reason or "failed")[:80]
    delivery.next_attempt_at = None
    delivery.save(update_fields=["status", "failed_at", "reason", "next_attempt_at", "updated_at"])
    permanent_failure(delivery, detail=delivery.reason, at=at)
    return delivery


# ---------------------------------------------------------------------------------------
# Opening and reading


@transaction.atomic
def mark_opened(delivery: Delivery, *, at: datetime) -> Delivery:
    """The person opened what a nudge pointed to: recorded once, with the engagement event
    `reminder_opened`; its in-app notification counts as read."""
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("enrollment")
        .get(pk=delivery.pk)
    )
    if delivery.opened_at is not None:
        return delivery
    delivery.opened_at = at
    delivery.save(update_fields=["opened_at", "updated_at"])
    Notification.objects.filter(delivery=delivery, read_at__isnull=True).update(read_at=at)
    if delivery.enrollment_id is not None:
        emit(delivery.enrollment, "reminder_opened", at=at, value=delivery.channel)  # type: ignore[arg-type]
    return delivery


def mark_read(notification: Notification, *, at: datetime) -> Notification:
    if notification.read_at is None:
        notification.read_at = at
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


def mark_all_read(user: User | Any, *, at: datetime) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
        read_at=at, updated_at=at
    )


@transaction.atomic
def unsubscribe(user_id: uuid.UUID, *, channel: str, at: datetime) -> ContactBlock | None:
    """The person asked, from a link in an e-mail, to get no more nudges on that channel."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    return block(
        user,
        channel=channel,
        reason=BlockReason.UNSUBSCRIBED,
        detail=_("Unsubscribed from a link in a message."),
        by=user,
        at=at,
    )
