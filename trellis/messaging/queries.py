"""Reading messages: a thread, unread counts for the in-app notice, reply templates, the
clinic's reply promise, and how quickly each supporter replies.

Functions taking an enrollment expect one the caller already reached through
`trellis.care.queries.access_enrollment` (or the patient's current enrollment).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from trellis.accounts.models import Organization
from trellis.care.models import CareTeamMember, Enrollment, EnrollmentStatus
from trellis.messaging.models import ClinicMessagingSettings, Message, ReplyTemplate, Thread

DEFAULT_REPLY_DAYS = 2


def thread_of(enrollment: Enrollment) -> Thread | None:
    """The enrollment's thread, or None before anyone has written."""
    return Thread.objects.filter(enrollment_id=enrollment.pk).first()


def messages_of(enrollment: Enrollment) -> list[Message]:
    """Every message of the enrollment's thread, oldest first, with its sender."""
    return list(
        Message.objects.filter(thread__enrollment_id=enrollment.pk)
        .select_related("sender")
        .order_by("sent_at", "created_at")
    )


def already_sent(enrollment: Enrollment, client_id: Any) -> bool:
    """Whether a message with this client id is already in the enrollment's thread (a retry
    of one sent before)."""
    return Message.objects.filter(thread__enrollment_id=enrollment.pk, client_id=client_id).exists()


def unread_count(user: Any) -> int:
    """Messages waiting for this person to read them.

    A patient: their care team's messages they have not opened yet. A supporter: patient
    messages not yet read in the threads of the enrollments they actively support.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    supported = CareTeamMember.objects.filter(supporter_id=user.pk, active=True).values(
        "enrollment_id"
    )
    return Message.objects.filter(
        Q(thread__enrollment__patient_id=user.pk, from_patient=False)
        | Q(thread__enrollment_id__in=supported, from_patient=True),
        read_at__isnull=True,
        thread__enrollment__status=EnrollmentStatus.ACTIVE,
    ).count()


def unread_by_enrollment(enrollment_ids: Iterable[Any]) -> dict[Any, int]:
    """Unread patient messages per enrollment, for a list of enrollments (one query)."""
    rows = (
        Message.objects.filter(
            thread__enrollment_id__in=list(enrollment_ids),
            from_patient=True,
            read_at__isnull=True,
        )
        .values("thread__enrollment_id")
        .annotate(n=Count("id"))
    )
    return {row["thread__enrollment_id"]: row["n"] for row in rows}


def reply_promise(organization: Organization | Any) -> int:
    """Within how many working days the clinic's care team usually replies."""
    org_id: Any = getattr(organization, "pk", organization)
    days = (
        ClinicMessagingSettings.objects.filter(organization_id=org_id)
        .values_list("reply_within_working_days", flat=True)
        .first()
    )
    return DEFAULT_REPLY_DAYS if days is None else int(days)


def templates_for(organization: Organization | Any) -> list[ReplyTemplate]:
    """Active reply templates a clinic's supporters can choose from: the clinic's own, and
    the Trellis defaults the clinic has not replaced with one of the same key."""
    rows = list(
        ReplyTemplate.objects.filter(
            Q(organization__isnull=True) | Q(organization_id=getattr(organization, "pk", None)),
        )
    )
    own = {t.key: t for t in rows if t.organization_id is not None}
    chosen = [t for t in rows if t.organization_id is not None and t.active]
    chosen += [t for t in rows if t.organization_id is None and t.active and t.key not in own]
    return sorted(chosen, key=lambda t: (t.gesture, t.title))


def template(organization: Organization | Any, key: str) -> ReplyTemplate | None:
    """One template by key, as the clinic sees it (None if unknown or retired)."""
    return next((t for t in templates_for(organization) if t.key == key), None)


def reply_times(supporter: Any, since: datetime) -> list[float]:
    """How long patients waited for this supporter, in seconds.

    For each patient message sent since `since`, the time until the first care-team reply
    after it, counted when that first reply came from this supporter. Messages still
    unanswered are left out (the unanswered-message alert deals with them).
    """
    return reply_times_by_supporter([supporter.pk], since)[supporter.pk]


def reply_times_by_supporter(
    supporter_ids: Iterable[Any], since: datetime
) -> dict[Any, list[float]]:
    """`reply_times` for several supporters at once, in one query: every thread one of them
    replied in since `since` is read once, and each wait goes to whoever ended it."""
    times: dict[Any, list[float]] = {pk: [] for pk in supporter_ids}
    threads = (
        Message.objects.filter(sender_id__in=list(times), from_patient=False, sent_at__gte=since)
        .values("thread_id")
        .distinct()
    )
    rows = (
        Message.objects.filter(thread_id__in=threads, sent_at__gte=since)
        .order_by("thread_id", "sent_at", "created_at")
        .values_list("thread_id", "from_patient", "sender_id", "sent_at")
    )
    waiting: list[datetime] = []
    current = None
    for thread_id, from_patient, sender_id, sent_at in rows:
        if thread_id != current:
            current, waiting = thread_id, []
        if from_patient:
            waiting.append(sent_at)
            continue
        if sender_id in times:
            times[sender_id].extend((sent_at - asked).total_seconds() for asked in waiting)
        waiting = []
    return times


def median_seconds(times: Iterable[float]) -> float | None:
    """The median of a list of reply times (None when there are none)."""
    values = list(times)
    return statistics.median(values) if values else None
