"""Demo outreach: each clinic's reminder rules and limits, and a few days of reminders
already sent to the demo patients, through the real pipeline.

Every clinic gets its outreach settings and the default rule of every kind (the rules'
own service). Alex chose e-mail, texts and Trellis itself, and has a number for texts;
Blair chose texts but has no number, so the record shows a text not sent and why. Each
nudge is queued and delivered through `nudges.services` and `nudges.dispatch` at a moment
of the last few days (time passed in), so the demo's e-mails and texts really go out:
`trellis demo` writes them under var/outbox/ (README). A supporter's digest reaches Maria.

Running it again creates nothing: each nudge has a fixed key, preferences and numbers are
only saved when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings

from trellis.accounts.models import User
from trellis.care.models import Enrollment, EnrollmentStatus, Preferences
from trellis.core import timeutil
from trellis.nudges import dispatch, rules, services
from trellis.nudges.contact import set_phone_number
from trellis.nudges.models import Delivery, DeliveryStatus, Notification
from trellis.onboarding.services import save_preferences

# A number reserved for fiction (555-01xx), for the demo patient who chose texts.
DEMO_PHONES = {"patient_alex": "+1 555 010 0101"}
# The reminder channels each demo patient chose (others: in Trellis only, the default).
DEMO_CHANNELS = {
    "patient_alex": ["in_app", "email", "sms"],
    "patient_blair": ["in_app", "sms"],
}
DEMO_QUIET_HOURS = (time(22, 0), time(7, 0))


@dataclass(frozen=True)
class DemoNudge:
    """One reminder to one person, `days_ago` days back at a local time of their clinic."""

    key: str
    person: str
    template: str
    days_ago: int
    at: time
    context: dict[str, Any] = field(default_factory=dict)
    opened_after: timedelta | None = None  # the person opened it this long after


DEMO_NUDGES = (
    DemoNudge(
        "alex-exercise", "patient_alex", "exercise_today", 4, time(9, 30), {}, timedelta(minutes=25)
    ),
    DemoNudge("alex-check-in", "patient_alex", "questionnaire_due", 3, time(10, 0)),
    DemoNudge("alex-message", "patient_alex", "message_waiting", 1, time(17, 15)),
    # A second nudge on the same day: over the clinic's cap of one a day, so not sent.
    DemoNudge("alex-quiet-days", "patient_alex", "inactivity", 1, time(18, 0)),
    DemoNudge(
        "alex-week",
        "patient_alex",
        "weekly_summary",
        2,
        time(19, 0),
        {"steps_completed": 4, "active_days": 3},
    ),
    DemoNudge("blair-exercise", "patient_blair", "exercise_today", 1, time(9, 0)),
    DemoNudge(
        "casey-exercise", "patient_casey", "exercise_today", 2, time(9, 0), {}, timedelta(hours=1)
    ),
    DemoNudge("farah-exercise", "patient_farah", "exercise_today", 1, time(9, 0)),
    DemoNudge(
        "maria-digest",
        "therapist_maria",
        "supporter_digest",
        1,
        time(8, 0),
        {
            "items": [
                {"label": "Messages waiting for a reply", "count": 1},
                {"label": "Open alerts", "count": 2},
            ]
        },
    ),
)


@dataclass
class OutreachSeeded:
    """What the demo's outreach holds now (for the printed summary)."""

    rules: int = 0
    deliveries: int = 0
    notifications: int = 0
    unread: int = 0


def _enrollment(person: User) -> Enrollment | None:
    return (
        Enrollment.objects.filter(patient=person, status=EnrollmentStatus.ACTIVE)
        .select_related("organization")
        .order_by("started_at")
        .first()
    )


def _choose_channels(cast: Any, now: datetime) -> None:
    """The demo patients' reminder channels and quiet hours, as they would set them."""
    for key, channels in DEMO_CHANNELS.items():
        patient = cast[key]
        prefs = Preferences.objects.filter(user=patient).first()
        if prefs is not None and list(prefs.reminder_channels) == channels:
            continue
        save_preferences(
            user=patient,
            actor=patient,
            contact_style=prefs.contact_style if prefs and prefs.contact_style else "messages",
            reminder_channels=channels,
            quiet_hours_start=DEMO_QUIET_HOURS[0],
            quiet_hours_end=DEMO_QUIET_HOURS[1],
            time_zone=prefs.time_zone if prefs else "",
            now=now,
        )
    for key, number in DEMO_PHONES.items():
        set_phone_number(cast[key], number=number, actor=cast[key], at=now)


def _send(cast: Any, nudge: DemoNudge, now: datetime) -> list[Delivery]:
    """Queue one demo nudge at its moment and deliver what is due, as the worker would."""
    person = cast[nudge.person]
    enrollment = _enrollment(person) if nudge.person.startswith("patient_") else None
    if nudge.person.startswith("patient_") and enrollment is None:
        return []  # that patient's program was not published (a content pack missing)
    organization = (
        enrollment.organization
        if enrollment is not None
        else person.memberships.filter(is_active=True)
        .select_related("organization")
        .first()
        .organization
    )
    zone = organization.time_zone
    day = timeutil.local_date(now, zone) - timedelta(days=nudge.days_ago)
    moment = timeutil.at_local_time(day, nudge.at, zone)
    if moment > now:  # later today: the day before, so nothing is dated in the future
        moment = timeutil.at_local_time(day - timedelta(days=1), nudge.at, zone)
    rows = services.queue_nudge(
        recipient=person,
        organization=organization,
        template=nudge.template,
        context=dict(nudge.context),
        key=f"demo:{nudge.key}",
        enrollment=enrollment,
        not_before=moment,
        expires_at=moment + timedelta(hours=12),
    )
    delivered = []
    for row in rows:
        due = row.next_attempt_at or row.not_before
        if row.status == DeliveryStatus.QUEUED and row.attempts == 0 and due <= now:
            row = dispatch.deliver(row.pk, now=max(due, moment))
            if row.sent_at is not None:
                # The notification is stamped by the database clock as it is written;
                # in the demo's past it belongs to the moment its nudge went.
                Notification.objects.filter(delivery=row).update(created_at=row.sent_at)
        delivered.append(row)
    # The person followed the link of one of them (the in-app one, if it was sent).
    reached = [r for r in delivered if r.status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)]
    reached.sort(key=lambda r: r.channel != "in_app")
    if nudge.opened_after is not None and reached:
        opened = (reached[0].sent_at or moment) + nudge.opened_after
        services.mark_opened(reached[0], at=min(opened, now))
    return delivered


def seed_outreach(cast: Any, now: datetime) -> OutreachSeeded:
    """Rules and limits for every demo clinic, the patients' channels, and a few days of
    reminders sent through the real pipeline. Idempotent."""
    seeded = OutreachSeeded()
    for clinic in cast.clinics.values():
        seeded.rules += len(rules.ensure_default_rules(clinic))
    _choose_channels(cast, now)
    for nudge in DEMO_NUDGES:
        _send(cast, nudge, now)
    people = [p.pk for p in cast.people.values()]
    seeded.deliveries = Delivery.objects.filter(recipient_id__in=people).count()
    seeded.notifications = Notification.objects.filter(user_id__in=people).count()
    seeded.unread = Notification.objects.filter(user_id__in=people, read_at=None).count()
    return seeded


def outbox_folders() -> dict[str, str]:
    """Where this run writes what it would send: e-mail and texts, each a folder or ""
    (then e-mails go where EMAIL_URL says, and texts to the provider, if any)."""
    mailer = settings.MAILERS.get("default", {})
    email = ""
    if str(mailer.get("BACKEND", "")).endswith("filebased.EmailBackend"):
        email = str(mailer.get("OPTIONS", {}).get("file_path", ""))
    sms = str((getattr(settings, "TRELLIS_SMS", None) or {}).get("OUTBOX") or "")
    return {"email": email, "sms": sms}
