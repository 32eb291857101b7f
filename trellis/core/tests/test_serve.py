import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from trellis.core.testing import free_port


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
        assert b"Page not found" in missing_body  # Trellis's own error page
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
