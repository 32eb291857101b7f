"""Trellis as it runs on more than one process, started on this machine in a temporary folder.

    .venv/bin/python scripts/topology.py [--seconds 0] [--keep-database]

starts, against PostgreSQL (127.0.0.1:5432, a fresh database of its own, migrated and seeded
with `trellis demo --no-serve`) and Redis (127.0.0.1:6379, the Celery broker and the cache):

- a throw-away certificate authority and a server certificate for 127.0.0.1 and localhost;
- nginx with deploy/nginx/trellis.conf and deploy/nginx/upstream.conf (the very files a
  clinic installs; only their ports, names and certificate paths are rewritten), its own
  prefix, pid file and logs in the folder, on free ports (the system's nginx is not touched);
- two `trellis serve` processes, two `trellis worker` processes (Celery on Redis) and one
  `trellis clock`.

It prints the address and the CA file (`curl --cacert CA https://127.0.0.1:PORT/healthz`),
waits (Ctrl-C, or --seconds), and stops everything, the database included. The topology
test (tests/test_topology.py) uses the same `Topology` class against its own test database.

The processes run with TRELLIS_ENV=test: the seed is the demo clinic, which refuses
production, and with the test settings no static files need gathering first. Everything
between the client and the database is otherwise what production runs (nginx, TLS, granian,
Celery workers, the clock).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "nginx"
TRELLIS = [sys.executable, "-m", "trellis"]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


# --- the certificate ------------------------------------------------------------------


def issue_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost signed by it:
    (ca.pem, fullchain.pem, privkey.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Trellis topology test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, chain_path, key_path = (
        folder / "ca.pem",
        folder / "fullchain.pem",
        folder / "privkey.pem",
    )
    ca_path.write_bytes(ca.public_bytes(pem))
    chain_path.write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return ca_path, chain_path, key_path


# --- nginx's configuration from the deployed files -------------------------------------


def _replace(text: str, old: str, new: str, what: str) -> str:
    if old not in text:
        raise RuntimeError(f"deploy/nginx/{what} no longer has the line {old.strip()!r}")
    return text.replace(old, new)


def site_config(https_port: int, http_port: int, chain: Path, key: Path) -> str:
    """deploy/nginx/trellis.conf with this machine's ports, names and certificate."""
    text = (DEPLOY / "trellis.conf").read_text()
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("server_name trellis.clinic.example;", "server_name 127.0.0.1 localhost;"),
        ("ssl_certificate /etc/nginx/tls/fullchain.pem;", f"ssl_certificate {chain};"),
        ("ssl_certificate_key /etc/nginx/tls/privkey.pem;", f"ssl_certificate_key {key};"),
        (
            "return 301 https://$host$request_uri;",
            f"return 301 https://$host:{https_port}$request_uri;",
        ),
    ):
        text = _replace(text, old, new, "trellis.conf")
    return text


def upstream_config(web_ports: list[int]) -> str:
    """deploy/nginx/upstream.conf with one `server` line per web process started here,
    each with the deployed file's passive health check parameters."""
    text = (DEPLOY / "upstream.conf").read_text()
    lines = re.findall(r"^\s*server 127\.0\.0\.1:\d+ (.*);$", text, flags=re.MULTILINE)
    if not lines:
        raise RuntimeError("deploy/nginx/upstream.conf has no `server 127.0.0.1:PORT ...;` line")
    servers = "".join(f"    server 127.0.0.1:{port} {lines[0]};\n" for port in web_ports)
    text = re.sub(r"(?m)^\s*server 127\.0\.0\.1:\d+ .*;\n", "", text)
    return _replace(
        text, "upstream trellis_web {\n", "upstream trellis_web {\n" + servers, "upstream.conf"
    )


def nginx_config(folder: Path, site: Path, upstream: Path) -> str:
    temp = folder / "nginx-temp"
    temp.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\n"
        "daemon off;\n"
        f"pid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'nginx-error.log'} info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {folder / 'nginx-access.log'};\n"
        f"    client_body_temp_path {temp / 'body'};\n"
        f"    proxy_temp_path {temp / 'proxy'};\n"
        f"    fastcgi_temp_path {temp / 'fastcgi'};\n"
        f"    uwsgi_temp_path {temp / 'uwsgi'};\n"
        f"    scgi_temp_path {temp / 'scgi'};\n"
        f"    include {upstream};\n"
        f"    include {site};\n"
        "}\n"
    )


# --- the processes ----------------------------------------------------------------------


@dataclass
class Process:
    name: str
    command: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    handle: IO[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        self.handle = self.log.open("wb")
        # A session of its own: stopping or killing it reaches its children too (granian's
        # workers, Celery's pool).
        self.popen = subprocess.Popen(
            self.command,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=ROOT,
        )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def wait(self, seconds: float) -> bool:
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


@dataclass
class Topology:
    """nginx with TLS in front of `webs` web processes, `workers` workers and `clocks` clocks,
    all against `database_url` and `redis_url`, in `folder`."""

    folder: Path
    database_url: str
    redis_url: str
    webs: int = 2
    workers: int = 2
    clocks: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    https_port: int = 0
    http_port: int = 0
    web_ports: list[int] = field(default_factory=list)
    ca: Path = Path()
    processes: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
        env.update(
            {
                "TRELLIS_ENV": "test",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "TRELLIS_TASK_BACKEND": "celery",
                "TRELLIS_BROKER_URL": self.redis_url,
                "TRELLIS_VAR_DIR": str(self.folder / "var"),
                "EMAIL_URL": "file://outbox/email",
                "TRELLIS_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "TRELLIS_CSRF_TRUSTED_ORIGINS": self.url,
                "TRELLIS_SECURE_COOKIES": "1",
                "TRELLIS_TRUST_X_FORWARDED_FOR": "1",
                "TRELLIS_LOG_FORMAT": "console",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("DATABASE_REPLICA_URL", None)
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 90) -> None:
        nginx = nginx_binary()
        if nginx is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "var").mkdir(exist_ok=True)
        self.ca, chain, key = issue_certificates(self.folder)
        self.https_port, self.http_port = free_port(), free_port()
        self.web_ports = [free_port() for _ in range(self.webs)]
        site, upstream = self.folder / "trellis.conf", self.folder / "upstream.conf"
        site.write_text(site_config(self.https_port, self.http_port, chain, key))
        upstream.write_text(upstream_config(self.web_ports))
        conf = self.folder / "nginx.conf"
        conf.write_text(nginx_config(self.folder, site, upstream))
        nginx_cmd = [
            nginx,
            "-p",
            str(self.folder),
            "-c",
            str(conf),
            "-e",
            str(self.folder / "nginx-error.log"),
        ]
        checked = subprocess.run([*nginx_cmd, "-t"], capture_output=True, text=True, check=False)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration:\n{checked.stderr}")
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        for n, port in enumerate(self.web_ports, start=1):
            self.processes.append(
                Process(
                    f"web-{n}",
                    [
                        *TRELLIS,
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--workers",
                        "1",
                        "--threads",
                        "4",
                    ],
                    logs / f"web-{n}.log",
                )
            )
        for n in range(1, self.workers + 1):
            self.processes.append(
                Process(
                    f"worker-{n}",
                    [*TRELLIS, "worker", "--worker-id", f"topology-{n}", "--concurrency", "2"],
                    logs / f"worker-{n}.log",
                )
            )
        for n in range(1, self.clocks + 1):
            self.processes.append(
                Process(
                    f"clock-{n}", [*TRELLIS, "clock", "--interval", "5"], logs / f"clock-{n}.log"
                )
            )
        self.processes.append(Process("nginx", nginx_cmd, logs / "nginx.log"))
        env = self.env()
        for process in self.processes:
            process.start(env)
        self.wait_until_ready(timeout)

    def web(self, n: int) -> Process:
        return next(p for p in self.processes if p.name == f"web-{n}")

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = [f"http://127.0.0.1:{port}/healthz" for port in self.web_ports]
        pending.append(f"{self.url}/healthz")
        tls = ssl.create_default_context(cafile=str(self.ca))
        while pending:
            for process in self.processes:
                if not process.alive():
                    raise RuntimeError(f"{process.name} exited while starting\n{self.logs()}")
            url = pending[0]
            try:
                with urllib.request.urlopen(  # noqa: S310 (http and https only)
                    url, timeout=2, context=tls if url.startswith("https") else None
                ) as answer:
                    if answer.status == 200:
                        pending.pop(0)
                        continue
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f}s\n{self.logs()}")
            time.sleep(0.2)

    def kill_web(self, n: int) -> None:
        """A web process dies at once (SIGKILL to it and its workers), as in a crash."""
        process = self.web(n)
        process.signal(signal.SIGKILL)
        process.wait(10)

    def stop(self, grace: float = 10) -> dict[str, int | None]:
        """SIGTERM to everything (nginx and the web processes first), then SIGKILL to what is
        left after `grace` seconds; each process's exit status."""
        order = sorted(
            self.processes,
            key=lambda p: 0 if p.name == "nginx" else 1 if p.name.startswith("web") else 2,
        )
        for process in order:
            process.signal(signal.SIGQUIT if process.name == "nginx" else signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in order:
            if not process.wait(max(0.1, deadline - time.monotonic())):
                process.signal(signal.SIGKILL)
                process.wait(5)
            process.close()
        return {p.name: p.popen.returncode if p.popen else None for p in self.processes}

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for path in [
            *sorted((self.folder / "logs").glob("*.log")),
            self.folder / "nginx-error.log",
        ]:
            if path.exists():
                text = path.read_text(errors="replace")
                parts.append(f"----- {path.name} (last {tail} characters) -----\n{text[-tail:]}")
        return "\n".join(parts)


# --- the stand-alone run ---------------------------------------------------------------


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=0, help="Stop after this long (0: at Ctrl-C)."
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    name = f"trellis_topology_{uuid.uuid4().hex[:8]}"
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    folder = Path(tempfile.mkdtemp(prefix="trellis-topology-"))
    topology = Topology(folder, database_url, args.redis_url)
    env = {**topology.env(), "TRELLIS_DEMO_SIMULATED_PATIENTS": "6"}
    _psql(f'create database "{name}"')
    try:
        started = time.monotonic()
        print(f"Database {name}: migrating and seeding the demo clinic ...", flush=True)
        subprocess.run(
            [*TRELLIS, "migrate", "--no-input"],
            env=env,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [*TRELLIS, "demo", "--no-serve"],
            env=env,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        print(f"Seeded in {time.monotonic() - started:.0f}s; starting the topology ...", flush=True)
        started = time.monotonic()
        topology.start()
        print(f"Ready in {time.monotonic() - started:.1f}s: {topology.url}/ (CA: {topology.ca})")
        print(f"  curl --cacert {topology.ca} {topology.url}/healthz")
        print(
            f"  web processes on {', '.join(map(str, topology.web_ports))}; logs in {folder}/logs"
        )
        try:
            if args.seconds:
                time.sleep(args.seconds)
            else:
                signal.pause()
        except KeyboardInterrupt:
            pass
    finally:
        print("Stopping ...", flush=True)
        statuses = topology.stop()
        print("  " + ", ".join(f"{k}: {v}" for k, v in statuses.items()))
        if not args.keep_database:
            _psql(f'drop database if exists "{name}" with (force)')
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
