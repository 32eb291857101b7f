"""Helpers shared by the test suites of every app (and the browser tests)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
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


class RowSnapshot:
    """The rows a piece of test setup adds to the database, recorded once and put back with
    one INSERT per table.

    Most tests start from the demo cast (both clinics, their teams, every persona, built
    through the services: about 250 statements). A test process builds it once, records
    the rows the build added, and every later test inserts those same rows (same keys, same
    sealed audit events) into its own transaction instead of building again. A build that
    changed or removed a row already there cannot be replayed by inserting: `record` then
    gives no snapshot and the caller builds each time.
    """

    def __init__(self, added: dict[str, list[Any]], columns: dict[str, list[str]]) -> None:
        self.added = added
        self.columns = columns

    @classmethod
    def record[T](cls, setup: Callable[[], T]) -> tuple[T, RowSnapshot | None]:
        before = every_row()
        result = setup()
        after = every_row()
        added: dict[str, list[Any]] = {}
        for table, rows in after.items():
            old = before.get(table, [])
            kept = set(rows)
            if any(row not in kept for row in old):
                return result, None
            known = set(old)
            new = [row for row in rows if row not in known]
            if new:
                added[table] = new
        return result, cls(added, {table: _insertable_columns(table) for table in added})

    def restore(self) -> bool:
        """Insert the recorded rows; False (and nothing inserted) when they clash with rows
        already there, for example one the test made itself with the same key."""
        quote = connection.ops.quote_name
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                for table, rows in self.added.items():
                    names = ", ".join(quote(c) for c in self.columns[table])
                    if connection.vendor == "postgresql":
                        cursor.execute(
                            f"INSERT INTO {quote(table)} ({names}) SELECT {names} "  # noqa: S608 (names from the schema)
                            f"FROM json_populate_recordset(NULL::{quote(table)}, %s::json)",
                            [f"[{','.join(rows)}]"],
                        )
                    else:
                        marks = ", ".join(["%s"] * len(self.columns[table]))
                        cursor.executemany(
                            f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})",  # noqa: S608 (names from the schema)
                            rows,
                        )
        except DatabaseError:
            return False
        return True


def every_row() -> dict[str, list[Any]]:
    """Every row of every table: as JSON text on PostgreSQL, as tuples elsewhere."""
    quote = connection.ops.quote_name
    rows: dict[str, list[Any]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT row_to_json(t)::text FROM {quote(table)} t")  # noqa: S608 (names from the schema)
                rows[table] = [row[0] for row in cursor.fetchall()]
            else:
                cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608 (names from the schema)
                rows[table] = [tuple(row) for row in cursor.fetchall()]
    return rows


def _insertable_columns(table: str) -> list[str]:
    """The columns of `table` a row is inserted with, in the table's order (a generated
    column is the database's to fill)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() AND is_generated = 'NEVER' "
                "ORDER BY ordinal_position",
                [table],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} LIMIT 0")  # noqa: S608 (names from the schema)
        return [column[0] for column in cursor.description]
