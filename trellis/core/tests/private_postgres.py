"""A PostgreSQL server of a test's own, in a temporary folder on a free port, that the test
may stop and start (the shared server on 5432 must never be restarted: other tests use it).

Built with the server's own tools (`initdb`, `pg_ctl`) from /usr/lib/postgresql/*/bin. The
server refuses to run as root, so under root the folder belongs to the `postgres` user and
the tools run as that user. The schema is copied from an existing database with `pg_dump
--schema-only` (much faster than running every migration).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A port nobody listens on now (this module runs without Django's settings too)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin() -> Path | None:
    """The newest server's tool folder, or None when no server is installed."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A throwaway cluster: start(), stop(), url(name), load_schema_from(url), remove()."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="trellis-pg-"))
        self.data = self.folder / "data"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            entry = pwd.getpwnam("postgres")
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self._as, str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Stop the server at once: open connections are cut, as in a crash or a restart."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> None:
        self._psql("postgres", f'CREATE DATABASE "{name}"')

    def load_schema_from(self, source_url: str, name: str) -> None:
        """Copy the tables, indexes and triggers (no rows) of `source_url` into `name`."""
        dump = subprocess.run(
            [
                str(self.bin / "pg_dump"),
                "--schema-only",
                "--no-owner",
                "--no-privileges",
                "--dbname",
                source_url,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "--dbname", self.url(name)],
            input=dump,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def _psql(self, name: str, sql: str) -> None:
        subprocess.run(
            [
                str(self.bin / "psql"),
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--dbname",
                self.url(name),
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def serve(
    database_url: str, var_dir: Path, *, pool: bool, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`trellis serve` (one worker process) on `database_url`; returns it and its base URL
    once /livez answers. Its output goes to `log` when given."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "DATABASE_"))}
    env.update(
        TRELLIS_ENV="test",
        TRELLIS_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url,
        TRELLIS_DB_POOL="1" if pool else "0",
        DJANGO_SETTINGS_MODULE="trellis.settings",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trellis",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "4",
        ],
        env=env,
        stdout=log.open("ab") if log else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"trellis serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/livez", timeout=2):
                return server, base
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("trellis serve did not answer within 60 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
