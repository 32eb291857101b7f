import base64
import os
import subprocess
import sys

import pytest

from trellis.core import deploychecks
from trellis.core.deploychecks import Finding, Level

GOOD_SECRET = "q7Lw0vB3n9Zx2Kc5Rt8Yp1Hs4Dj6Fg0Mb3Nv7Xc9Qa2We5Rt8Yu1Io4Pa7Sd0Fg3Hj6"
GOOD_KEYS = "prod1:" + base64.b64encode(bytes(range(32))).decode()


def _run_check(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TRELLIS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "trellis", "check"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secrets_lists_every_problem_and_fails(tmp_path):
    result = _run_check(tmp_path, TRELLIS_ENV="production")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "✗ TRELLIS_SECRET_KEY is missing" in out
    assert "secrets.token_urlsafe" in out
    assert "✗ TRELLIS_DATA_KEYS is missing" in out
    assert "✗ EMAIL_URL is missing" in out
    assert "✗ TRELLIS_ALLOWED_HOSTS is empty" in out
    assert "! the database is SQLite" in out
    assert "All checks passed" not in out


def test_production_with_insecure_settings_names_each(tmp_path):
    result = _run_check(
        tmp_path,
        TRELLIS_ENV="production",
        TRELLIS_DEBUG="1",
        TRELLIS_SECRET_KEY="dev-only-insecure-secret-key-do-not-use-in-production",
        TRELLIS_DATA_KEYS="dev1:ZGV2LW9ubHktaW5zZWN1cmUtZGF0YS1rZXktMzJieXQ=",
        EMAIL_URL="console://",
        TRELLIS_SECURE_COOKIES="0",
        TRELLIS_HSTS_SECONDS="0",
        TRELLIS_ALLOWED_HOSTS="*",
    )
    assert result.returncode == 1
    out = result.stdout
    for problem in (
        "✗ DEBUG is on",
        "✗ TRELLIS_SECRET_KEY is a placeholder",
        "✗ TRELLIS_DATA_KEYS is the public development key",
        "✗ EMAIL_URL prints or keeps mail",
        "✗ session cookies may be sent without TLS",
        "✗ CSRF cookies may be sent without TLS",
        "✗ HSTS is off",
        "✗ TRELLIS_ALLOWED_HOSTS allows any host",
    ):
        assert problem in out, problem


def test_good_production_configuration_passes_without_reaching_the_database(tmp_path):
    result = _run_check(
        tmp_path,
        TRELLIS_ENV="production",
        TRELLIS_SECRET_KEY=GOOD_SECRET,
        TRELLIS_DATA_KEYS=GOOD_KEYS,
        EMAIL_URL="smtp://trellis:pw@mail.invalid:587?tls=1",
        TRELLIS_ALLOWED_HOSTS="trellis.example.org",
        DATABASE_URL="postgres://trellis@db.invalid:5432/trellis",
        TRELLIS_SSL_REDIRECT="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed" in result.stdout
    assert "✗" not in result.stdout


def test_development_reports_warnings_but_passes(tmp_path):
    result = _run_check(tmp_path, TRELLIS_ENV="dev")
    assert result.returncode == 0
    assert "! DEBUG is on" in result.stdout
    assert "✗" not in result.stdout


@pytest.mark.parametrize(
    "key",
    ["short-but-random-1234", "change-me-" + "x" * 60, "a" * 80],
)
def test_weak_secret_keys_are_errors(settings, key):
    settings.SECRET_KEY = key
    assert [f.level for f in deploychecks.secret_key()] == [Level.ERROR]


def test_unparsable_data_keys_are_an_error(settings):
    settings.TRELLIS_DATA_KEYS = "prod1:not-base64"
    findings = list(deploychecks.data_keys())
    assert findings[0].level == Level.ERROR
    assert "cannot be read" in findings[0].message


def test_apps_can_register_their_own_checks():
    def on_call_clinician_configured():
        yield Finding(
            Level.ERROR, "no on-call clinician is configured", "set one in the clinic settings"
        )

    deploychecks.deploy_check(on_call_clinician_configured)
    try:
        assert "no on-call clinician is configured" in [f.message for f in deploychecks.run()]
    finally:
        deploychecks._checks.remove(on_call_clinician_configured)


def test_a_crashing_check_is_reported_not_hidden():
    def broken():
        raise RuntimeError("boom")

    findings = deploychecks.run([broken])
    assert findings[0].level == Level.ERROR
    assert "boom" in findings[0].message
