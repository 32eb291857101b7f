import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from trellis.core.testing import free_port

pytestmark = pytest.mark.slow


def _env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRELLIS_", "DATABASE_URL"))}
    env.update(
        TRELLIS_ENV="test",
        TRELLIS_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        DJANGO_SETTINGS_MODULE="trellis.settings",
    )
    return env


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_runs_a_real_server_that_answers_healthz(tmp_path):
    env = _env(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "trellis", "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
        timeout=120,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "trellis", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        status, body = 0, b""
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"server exited: {server.stdout.read().decode()}")  # type: ignore[union-attr]
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert status == 200
        assert json.loads(body)["status"] == "ok"
        missing_status, missing_body = _get(f"http://127.0.0.1:{port}/no-such-page")
        assert missing_status == 404
        assert b"We could not find that page" in missing_body  # Trellis's own error page
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_serve_refuses_nonsense_options(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "trellis", "serve", "--workers", "0"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--workers must be at least 1" in result.stderr


def _serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`trellis serve` run to completion: the refusals stop it before it opens a port."""
    port = free_port()
    return subprocess.run(
        [sys.executable, "-m", "trellis", "serve", "--port", str(port), "--workers", "1", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_without_trellis_env_refuses_instead_of_serving_debug_pages(tmp_path):
    env = _env(tmp_path)
    del env["TRELLIS_ENV"]
    result = _serve(env)
    assert result.returncode == 1
    assert "TRELLIS_ENV is not set" in result.stderr
    assert "Serving Trellis" not in result.stdout


def test_serve_in_production_with_development_keys_lists_every_problem_and_refuses(tmp_path):
    env = _env(tmp_path)
    env.update(
        TRELLIS_ENV="production",
        TRELLIS_SECRET_KEY="dev-only-insecure-secret-key-do-not-use-in-production",
        TRELLIS_DATA_KEYS="dev1:ZGV2LW9ubHktaW5zZWN1cmUtZGF0YS1rZXktMzJieXQ=",
        EMAIL_URL="console://",
        TRELLIS_ALLOWED_HOSTS="trellis.example.org",
    )
    result = _serve(env, "--no-collectstatic")
    assert result.returncode == 1
    assert "Trellis will not serve in production" in result.stderr
    assert "TRELLIS_DATA_KEYS" in result.stderr  # the public development key
    assert "EMAIL_URL" in result.stderr  # console e-mail reaches nobody
    assert "Serving Trellis" not in result.stdout


def test_serve_with_debug_pages_refuses_an_address_beyond_this_machine(tmp_path):
    env = _env(tmp_path)
    env["TRELLIS_ENV"] = "dev"
    result = _serve(env, "--host", "0.0.0.0")  # noqa: S104 (the address being refused)
    assert result.returncode == 1
    assert "Debug pages are on" in result.stderr
    assert "Serving Trellis" not in result.stdout


GOOD_PRODUCTION = {
    "TRELLIS_ENV": "production",
    "TRELLIS_SECRET_KEY": "q7Lw0vB3n9Zx2Kc5Rt8Yp1Hs4Dj6Fg0Mb3Nv7Xc9Qa2We5Rt8Yu1Io4Pa7Sd0Fg3Hj6",
    "TRELLIS_DATA_KEYS": "prod1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    "TRELLIS_AUDIT_KEYS": "audit1:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=",
    "EMAIL_URL": "smtp://mailer:secret@127.0.0.1:2525?tls=1",
    "TRELLIS_ALLOWED_HOSTS": "127.0.0.1",
}


def test_serve_in_production_starts_when_trellis_check_passes(tmp_path):
    env = {**_env(tmp_path), **GOOD_PRODUCTION}
    subprocess.run(
        [sys.executable, "-m", "trellis", "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
        timeout=120,
    )
    check = subprocess.run(
        [sys.executable, "-m", "trellis", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout  # the premise: nothing for serve to refuse
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "trellis", "serve", "--port", str(port), "--no-collectstatic"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"server exited: {server.stdout.read()}")  # type: ignore[union-attr]
            try:
                _get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        else:
            pytest.fail("the production server never answered")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
