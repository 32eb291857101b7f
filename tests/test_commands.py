"""The plumbing under `make demo`, `make test` and the `trellis` command."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from trellis.core.testing import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
FIND_PYTHON = ROOT / "scripts" / "find-python"
TRELLIS_COMMANDS = ("serve", "worker", "clock", "demo", "deploycheck", "audit", "keys")


def run(args: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)


def laptop_env(var_dir: Path) -> dict[str, str]:
    """The environment of someone trying Trellis on a laptop: SQLite under var_dir, no services."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    # A handful of simulated patients, not the demo's 60: these tests time how fast it serves.
    env.update(TRELLIS_ENV="dev", TRELLIS_VAR_DIR=str(var_dir), TRELLIS_DEMO_SIMULATED_PATIENTS="6")
    return env


def test_find_python_prints_a_python_new_enough_for_django_6() -> None:
    result = run([str(FIND_PYTHON)])
    assert result.returncode == 0, result.stderr
    interpreter = result.stdout.strip()
    assert Path(interpreter).is_absolute()
    version = run([interpreter, "-c", "import sys; print(sys.version_info >= (3, 12))"])
    assert version.stdout.strip() == "True"


def test_find_python_explains_what_to_install_when_only_an_old_python_exists(
    tmp_path: Path,
) -> None:
    if any(Path(p).exists() for p in ("/usr/local/bin/python3.13", "/usr/local/bin/python3.12")):
        pytest.skip("this machine has a system-wide Python 3.12+ the script always finds")
    old_python = tmp_path / "bin" / "python3"
    old_python.parent.mkdir()
    # A stand-in for Python 3.11: it answers the version check with "too old".
    old_python.write_text("#!/bin/sh\nexit 1\n")
    old_python.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    result = run(
        ["/bin/sh", str(FIND_PYTHON)], env={"PATH": str(old_python.parent), "HOME": str(home)}
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Python 3.12 or newer" in result.stderr
    assert "Install python3.13 or python3.12" in result.stderr


def test_trellis_help_lists_every_operator_command() -> None:
    trellis = shutil.which("trellis", path=str(Path(sys.executable).parent))
    assert trellis is not None, "the `trellis` entry point is not installed in this environment"
    result = run([trellis, "help"])
    assert result.returncode == 0, result.stderr
    listed = {line.strip() for line in result.stdout.splitlines()}
    missing = [name for name in TRELLIS_COMMANDS if name not in listed]
    assert not missing, f"`trellis help` does not list: {missing}"
    # Django's own commands are there too, so operators need only one command.
    assert {"migrate", "createsuperuser"} <= listed


def test_python_dash_m_trellis_runs_the_same_command() -> None:
    result = run([sys.executable, "-m", "trellis", "demo", "--help"])
    assert result.returncode == 0, result.stderr
    assert "--no-serve" in result.stdout
    assert "--totp" in result.stdout


def test_demo_serves_the_login_page_and_stops_with_its_worker_and_clock(tmp_path: Path) -> None:
    port = free_port()
    env = laptop_env(tmp_path)
    # The demo's output goes to a file, not a pipe: should the test give up, the web server,
    # worker and clock it started could otherwise hold the pipe open and block the read.
    log_path = tmp_path / "demo.log"
    with log_path.open("w") as log:
        demo = subprocess.Popen(
            [sys.executable, "-m", "trellis", "demo", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    children: list[int] | None = None
    try:
        base = f"http://127.0.0.1:{port}"
        # Seeding comes first; on a machine busy with the rest of the suite it can take a minute.
        assert wait_for_page(f"{base}/accounts/login/", demo, log_path, seconds=240) == 200
        assert wait_for_page(f"{base}/static/trellis/trellis.css", demo, log_path, seconds=5) == 200
        children = child_pids(demo.pid)
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
    finally:
        if demo.poll() is None:
            for pid in child_pids(demo.pid) or []:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            demo.kill()
            demo.wait(timeout=30)
    output = log_path.read_text()
    assert demo.returncode == 0, output
    assert "maria.therapist@riverside.example" in output
    assert f"Serving Trellis on http://127.0.0.1:{port}/" in output
    if children is not None:
        assert len(children) == 3, f"expected web server, worker and clock; got {children}"
        still_running = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert not still_running, "the demo left processes behind"


def test_demo_refuses_a_port_that_is_already_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            [sys.executable, "-m", "trellis", "demo", "--port", str(port)], env=laptop_env(tmp_path)
        )
    assert result.returncode == 1
    assert f"already listening on 127.0.0.1:{port}" in result.stderr


def wait_for_page(
    url: str, process: subprocess.Popen[str], log_path: Path, *, seconds: float
) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {seconds}s:\n{log_path.read_text()}")


def child_pids(pid: int) -> list[int] | None:
    """Direct children of a process, where the system shows them (Linux /proc)."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.exists():
        return None
    children: list[int] = []
    for task in tasks.iterdir():
        children_file = task / "children"
        if children_file.exists():
            children.extend(int(c) for c in children_file.read_text().split())
    return children
