"""`trellis serve`: the production web server (granian, WSGI) in front of Trellis.

Run it behind a TLS-terminating proxy (nginx, a load balancer). It replaces this
process with granian, so a process supervisor's signals reach the server directly.

It refuses to serve what is unsafe, before any port is opened:
- without TRELLIS_ENV in the environment (a forgotten variable would otherwise fall back
  to development mode, whose error pages show code, settings and every URL);
- in production, on any error `trellis check` reports (development keys, console e-mail,
  debug on, no allowed hosts, insecure cookies...), listing them all;
- in development with debug pages on, on any address other than this machine's own.
"""

from __future__ import annotations

import os
import shutil
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from trellis.core.deployment import describe, findings
from trellis.core.files import private_dir
from trellis.core.metrics import MULTIPROC_ENV

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
NO_ENV = (
    "TRELLIS_ENV is not set, so Trellis will not serve. Set TRELLIS_ENV=production to "
    "serve a clinic (`trellis check` lists what production needs), or TRELLIS_ENV=dev to "
    "try Trellis on this machine."
)


def granian_argv(
    *, host: str, port: int, workers: int, threads: int, access_log: bool
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        # As many again as do work: the spares only answer 503 when every working thread
        # is busy (trellis.core.shedding), instead of the request waiting in a queue.
        str(threads * 2),
        "--no-ws",
    ]
    if access_log:
        argv.append("--access-log")
    argv.append("trellis.wsgi:application")
    return argv


class Command(BaseCommand):
    help = "Serve Trellis with the production web server (granian)."
    requires_system_checks = []  # `trellis check` is the place for checks; start fast

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument("--workers", type=int, default=2, help="Worker processes.")
        parser.add_argument(
            "--threads", type=int, default=8, help="Request threads per worker process."
        )
        parser.add_argument("--access-log", action="store_true", help="Log every request.")
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Do not gather static files first (production only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("port", "workers", "threads"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1")
        if not 0 < options["port"] < 65536:
            raise CommandError("--port must be between 1 and 65535")
        refuse_unsafe(host=options["host"])
        if settings.PRODUCTION and not options["no_collectstatic"]:
            # In production static files are served from STATIC_ROOT with hashed names;
            # collectstatic copies only what changed, so this is quick after the first run.
            self.stdout.write(f"Gathering static files into {settings.STATIC_ROOT}")
            call_command("collectstatic", interactive=False, verbosity=0)
        argv = granian_argv(
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            threads=options["threads"],
            access_log=options["access_log"],
        )
        self.stdout.write(
            f"Serving Trellis on http://{options['host']}:{options['port']} "
            f"({options['workers']} workers)"
        )
        self.stdout.flush()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
        os.environ.setdefault("TRELLIS_MAX_IN_FLIGHT", str(options["threads"]))
        os.environ[MULTIPROC_ENV] = str(metrics_dir(Path(settings.VAR_DIR), options["port"]))
        os.execv(argv[0], argv)  # noqa: S606 (a fixed argv, no shell)


def metrics_dir(var_dir: Path, port: int) -> Path:
    """An empty private folder where the worker processes of this server keep their metrics
    (prometheus_client's multiprocess mode; trellis.core.metrics). One per port, so two
    servers on one machine are scraped apart; emptied at every start, so counts from a
    previous run are not added to this one's."""
    folder = private_dir(var_dir / "prometheus") / str(port)
    if folder.exists():
        shutil.rmtree(folder)
    return private_dir(folder)


def refuse_unsafe(*, host: str) -> None:
    """Stop with every reason this configuration must not serve, or return quietly."""
    if not os.environ.get("TRELLIS_ENV"):
        raise CommandError(NO_ENV)
    if settings.PRODUCTION:
        errors = findings(production=True).errors
        if errors:
            lines = "\n".join(f"  ✗ {describe(message)}" for message in errors)
            raise CommandError(
                f"Trellis will not serve in production with {len(errors)} problem(s) "
                f"that `trellis check` reports:\n{lines}"
            )
    elif settings.DEBUG and host not in LOOPBACK_HOSTS:
        raise CommandError(
            f"Debug pages are on (TRELLIS_ENV={settings.TRELLIS_ENV}), and they show code and "
            f"settings to anyone who can reach {host}. Serve on 127.0.0.1, or set "
            "TRELLIS_ENV=production."
        )
