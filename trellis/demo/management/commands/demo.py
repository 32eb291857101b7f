"""`trellis demo`: the simulated clinic on this machine, ready to sign in to.

Migrates the database, builds the demo clinics and people through the real services
(running it again finds them and creates nothing), prints every demo login with the
authenticator secret of each staff account, and then serves Trellis on
http://127.0.0.1:8000 together with a task worker and the clock. Ctrl-C stops them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from base64 import b32encode
from dataclasses import dataclass
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from trellis.accounts.models import Membership, Role
from trellis.core import timeutil
from trellis.demo import personas
from trellis.demo.alerts import seed_supporter_workspace
from trellis.demo.interop import InteropSeeded, seed_interop
from trellis.demo.journeys import seed_journeys
from trellis.demo.outreach import OutreachSeeded, outbox_folders, seed_outreach
from trellis.demo.risk import seed_risk, seed_simulated_patients
from trellis.demo.sessions import seed_availability

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# How long the children get to finish their current work after Ctrl-C.
STOP_GRACE_SECONDS = 10


@dataclass(frozen=True)
class Login:
    """One row of the printed table of demo sign-ins."""

    email: str
    name: str
    role: str
    clinic: str
    totp_secret: str | None
    otpauth_url: str | None


def demo_logins() -> list[Login]:
    """Every demo persona as it is in the database now, in the order the personas list them.

    The secret is read from the person's confirmed device rather than recomputed, so
    the table stays true if someone re-enrolls MFA while trying the demo.
    """
    emails = [p.email for p in personas.PERSONAS]
    memberships = {
        m.user.email: m
        for m in Membership.objects.select_related("user", "organization").filter(
            user__email__in=emails
        )
    }
    devices = {
        d.user.email: d
        for d in TOTPDevice.objects.select_related("user").filter(
            user__email__in=emails, confirmed=True
        )
    }
    logins = []
    for persona in personas.PERSONAS:
        membership = memberships.get(persona.email)
        if membership is None:
            continue
        device = devices.get(persona.email)
        logins.append(
            Login(
                email=persona.email,
                name=membership.user.full_name,
                role=str(Role(membership.role).label),
                clinic=membership.organization.name,
                totp_secret=b32encode(device.bin_key).decode() if device else None,
                otpauth_url=device.config_url if device else None,
            )
        )
    return logins


def current_code(email: str) -> str:
    """The six digits an authenticator app holding this person's secret shows right now."""
    device = (
        TOTPDevice.objects.filter(user__email__iexact=email.strip(), confirmed=True)
        .order_by("id")
        .first()
    )
    if device is None:
        raise CommandError(
            f"No demo account with an authenticator is registered for {email!r}. "
            "Run `trellis demo --no-serve` first, and use one of the staff emails it prints."
        )
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def migrate_quietly() -> None:
    """Bring the database up to date, saying nothing when it already is."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    if executor.migration_plan(targets):
        call_command("migrate", interactive=False, verbosity=0)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


class Command(BaseCommand):
    help = (
        "Set up the simulated clinic (idempotent), print the demo logins and serve Trellis "
        "with a task worker and the clock. Use --no-serve to only set up and print."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Set up the demo and print the logins, then exit.",
        )
        parser.add_argument(
            "--host", default=DEFAULT_HOST, help=f"Address to serve on (default {DEFAULT_HOST})."
        )
        parser.add_argument(
            "--port", type=int, default=DEFAULT_PORT, help=f"Port (default {DEFAULT_PORT})."
        )
        parser.add_argument(
            "--totp",
            metavar="EMAIL",
            help="Print the current 6-digit sign-in code of a demo staff account and exit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "The demo creates accounts with a public password and prints their secrets; "
                "it refuses to run with TRELLIS_ENV=production."
            )
        if options["totp"]:
            self.stdout.write(current_code(options["totp"]))
            return
        host, port = options["host"], options["port"]
        if not options["no_serve"] and port_in_use(host, port):
            raise CommandError(
                f"Something is already listening on {host}:{port}. Stop it, or choose another "
                "port with `trellis demo --port 8001`."
            )
        migrate_quietly()
        cast = personas.build()

        seed_journeys(cast, timeutil.now(), warn=self.stderr.write)

        seed_supporter_workspace(cast, timeutil.now())

        seed_availability(cast, timeutil.now())

        outreach = seed_outreach(cast, timeutil.now())

        seed_simulated_patients(cast, timeutil.now())

        seed_risk(cast, timeutil.now())

        connected = seed_interop(cast, timeutil.now())
        self.print_logins(f"http://{host}:{port}")
        self.print_outreach(outreach)
        self.print_fhir(connected, f"http://{host}:{port}")
        if options["no_serve"]:
            return
        self.serve(host, port)

    def print_logins(self, base_url: str) -> None:
        logins = demo_logins()
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS("The Trellis demo clinic is ready."))
        out.write("")
        out.write(f"Sign in at {base_url}/accounts/login/ as any of these people.")
        out.write(f"Every demo account has the password: {personas.DEMO_PASSWORD}")
        out.write("")
        headers = ("Email", "Name", "Role", "Clinic", "Password", "TOTP secret (base32)")
        rows = [
            (
                login.email,
                login.name,
                login.role,
                login.clinic,
                personas.DEMO_PASSWORD,
                login.totp_secret or "(no MFA: patient)",
            )
            for login in logins
        ]
        widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

        def line(cells: tuple[str, ...]) -> str:
            return "  ".join(
                cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
            ).rstrip()

        out.write(self.style.MIGRATE_HEADING(line(headers)))
        for row in rows:
            out.write(line(row))
        out.write("")
        out.write(
            "Staff accounts also ask for a 6-digit code. Add a secret above to an authenticator "
            "app, or open its link:"
        )
        for login in logins:
            if login.otpauth_url:
                out.write(f"  {login.otpauth_url}")
        out.write("")
        out.write(
            "No phone at hand? `trellis demo --totp EMAIL` prints the current code, "
            "for example: trellis demo --totp maria.therapist@riverside.example"
        )
        out.write("")

    def print_outreach(self, outreach: OutreachSeeded) -> None:
        """Where the reminders are to be seen: in Trellis, and as the files of what it sent."""
        out = self.stdout
        out.write(
            f"Reminders: {outreach.rules} rules across the demo clinics; "
            f"{outreach.deliveries} deliveries so far, {outreach.notifications} in-app "
            f"notifications ({outreach.unread} unread). Alex's record shows them under "
            "'Reminders and messages sent'; Notifications is in every menu."
        )
        folders = outbox_folders()
        if folders["email"]:
            out.write(f"E-mails the demo sends are written to files in {folders['email']}/")
        else:
            out.write("E-mails the demo sends go where EMAIL_URL says (not to files).")
        if folders["sms"]:
            out.write(f"Text messages are written to files in {folders['sms']}/")
        else:
            out.write("Text messages go to the SMS provider set in TRELLIS_SMS_* (if any).")
        out.write("")

    def print_fhir(self, connected: InteropSeeded, base_url: str) -> None:
        """How to read the clinic's records as its EHR does (docs/fhir-connect.md)."""
        out = self.stdout
        fhir = f"{base_url}/fhir/R4"
        out.write(
            f"FHIR R4 is served at {fhir}/ (CapabilityStatement: {fhir}/metadata). The "
            f"clinic's EHR is connected as client {connected.client_id}; its private key is "
            f"{connected.key_path}. As the EHR, with the demo running:"
        )
        out.write(
            f"  TOKEN=$(trellis fhir token --base {fhir} --client-id {connected.client_id} "
            f"--key {connected.key_path})"
        )
        out.write(f'  curl -H "Authorization: Bearer $TOKEN" "{fhir}/Observation?code=44261-6"')
        out.write("")

    def serve(self, host: str, port: int) -> None:
        """Run the worker and the clock in the background and the web server in front.

        Each runs as its own `trellis` process, as it would in production. Ctrl-C (or
        SIGTERM) stops all of them and waits for each to finish.
        """
        commands = get_commands()
        trellis = [sys.executable, "-m", "trellis"]
        # The children run in the mode this demo runs in (`trellis serve` refuses to guess).
        os.environ.setdefault("TRELLIS_ENV", settings.TRELLIS_ENV)
        children: list[tuple[str, subprocess.Popen[bytes]]] = []
        for name in ("worker", "clock"):
            if name in commands:
                children.append((name, start([*trellis, name])))
            else:
                self.stderr.write(
                    f"`trellis {name}` is not available in this version, "
                    "so background jobs will not run."
                )
        if "serve" in commands:
            web = [*trellis, "serve", "--host", host, "--port", str(port), "--workers", "1"]
        else:
            web = [*trellis, "runserver", "--noreload", f"{host}:{port}"]

        def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop_on_sigterm)
        # Make sure this process hears Ctrl-C even when it was started with interrupts
        # ignored (as background jobs of a script are).
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
        self.stdout.write(f"Serving Trellis on http://{host}:{port}/ (press Ctrl-C to stop).")
        exit_code = 0
        try:
            server = start(web)
            children.append(("web server", server))
            exit_code = self.watch(children)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo...")
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)
            self.stop(children)
        if exit_code:
            raise CommandError(
                f"The demo stopped because a process exited with status {exit_code}."
            )

    def watch(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> int:
        """Wait until any child stops: the demo is only whole with all of them running."""
        while True:
            for name, child in children:
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"The {name} stopped (exit status {code}).")
                    return code or 1
            time.sleep(0.5)

    def stop(self, children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
        """Ask each child to finish (SIGTERM), then end whatever is left of its process group."""
        for _name, child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {name} did not stop in {STOP_GRACE_SECONDS}s; ending it.")
            # The web server runs its own worker processes; none may outlive the demo.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def start(argv: list[str]) -> subprocess.Popen[bytes]:
    """Start a child in its own process group: Ctrl-C in the terminal reaches only the demo,
    which then stops each child in order instead of all of them racing to shut down."""
    return subprocess.Popen(argv, start_new_session=True)
