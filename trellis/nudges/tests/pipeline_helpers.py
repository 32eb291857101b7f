"""Fixtures of the delivery pipeline's tests: patient_alex enrolled with his reminder
preferences, and an SMTP server that refuses recipients with a chosen reply."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from typing import Any

from trellis.care.models import Enrollment, Preferences
from trellis.core.testing import SmtpServer, free_port
from trellis.journey.tests.factories import enroll_alex
from trellis.nudges import services
from trellis.nudges.models import Delivery


def alex_with(
    cast: Any,
    *,
    now: datetime,
    channels: list[str] | None = None,
    zone: str = "",
    quiet: tuple[time, time] | None = None,
    language: str = "",
) -> Enrollment:
    """patient_alex in the test program with therapist_maria, reached by `channels`
    (default e-mail and in-app), in `zone` (blank: the clinic's, New York)."""
    enrollment = enroll_alex(cast, now=now)
    prefs, _created = Preferences.objects.get_or_create(user=cast["patient_alex"])
    prefs.reminder_channels = ["email", "in_app"] if channels is None else channels
    prefs.time_zone = zone
    prefs.quiet_hours_start, prefs.quiet_hours_end = quiet or (None, None)
    prefs.save()
    if language:
        alex = cast["patient_alex"]
        alex.language = language
        alex.save(update_fields=["language"])
    return enrollment


def queue_one(
    cast: Any,
    enrollment: Enrollment,
    *,
    key: str,
    not_before: datetime,
    channel: str = "email",
    template: str = "exercise_today",
    expires_at: datetime | None = None,
) -> Delivery:
    """One nudge to patient_alex on one channel, queued as an appointment text is (not
    counted against the caps), so a test can queue as many as it needs."""
    [row] = services.queue_nudge(
        recipient=cast["patient_alex"],
        organization=enrollment.organization,
        template=template,
        context={},
        key=key,
        enrollment=enrollment,
        channels=[channel],
        not_before=not_before,
        expires_at=expires_at,
        transactional=True,
    )
    return row


@contextmanager
def refusing_smtp(code: int, text: str = "refused") -> Iterator[SmtpServer]:
    """A real SMTP server on localhost that answers every RCPT TO with `code`."""
    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=free_port())

    class Handler:
        async def handle_RCPT(
            self, smtp: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            return f"{code} {text}"

        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            return "250 accepted"

    controller = Controller(Handler(), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def mail_settings(settings: Any, server: SmtpServer) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": server.host, "port": server.port, "timeout": 5},
        }
    }


@contextmanager
def counting_smtp(port: int | None = None) -> Iterator[tuple[SmtpServer, list[str]]]:
    """A real SMTP server on localhost that accepts everything and counts the connections
    made to it (one "ehlo" per connection)."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    from trellis.core.testing import CapturedMail

    server = SmtpServer(host="127.0.0.1", port=port or free_port())
    greetings: list[str] = []

    class Handler:
        async def handle_EHLO(
            self, smtp: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
        ) -> list[str]:
            greetings.append(hostname)
            session.host_name = hostname
            return responses

        async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
            server.messages.append(
                CapturedMail(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message_from_bytes(envelope.content),
                )
            )
            return "250 accepted"

    controller = Controller(Handler(), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server, greetings
    finally:
        controller.stop()
