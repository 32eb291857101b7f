"""Helpers shared by the test suites of every app (and the browser tests)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def services_required() -> bool:
    return os.environ.get("TRELLIS_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def need_service(available: bool, what: str) -> None:
    """Skip when a service is missing on a laptop; fail when CI says services are on."""
    if available:
        return
    if services_required():
        pytest.fail(f"{what} is required (TRELLIS_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def need_postgres() -> None:
    need_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sign_in(client: Client, user: Any, *, verified: bool = True) -> Client:
    """Log `user` in on a test client; staff also pass MFA unless `verified` is False."""
    client.force_login(user)
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
    return client


def current_totp(user: Any) -> str:
    """The code an authenticator app would show now for the user's confirmed device."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@dataclass
class CapturedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        if self.message.is_multipart():
            for part in self.message.walk():
                if part.get_content_type() == "text/plain":
                    return part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        return self.message.get_payload(decode=True).decode()  # type: ignore[union-attr]


@dataclass
class SmtpServer:
    """A real SMTP server on localhost; Trellis talks to it over a socket."""

    host: str
    port: int
    messages: list[CapturedMail] = field(default_factory=list)

    def to(self, address: str) -> list[CapturedMail]:
        return [m for m in self.messages if address in m.rcpt_tos]


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    captured = SmtpServer(host="127.0.0.1", port=0)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            captured.messages.append(
                CapturedMail(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message_from_bytes(envelope.content),
                )
            )
            return "250 Message accepted for delivery"

    captured.port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=captured.port)
    controller.start()
    try:
        yield captured
    finally:
        controller.stop()


def smtp_settings(server: SmtpServer) -> dict[str, Any]:
    return {
        "MAILERS": {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": server.host, "port": server.port, "timeout": 5},
            }
        }
    }
