import base64
import os
import subprocess
import sys

import pytest
from django.core.checks import ERROR, WARNING, Error, Tags, register, run_checks
from django.core.checks.registry import registry

from trellis.core import checks

GOOD_SECRET = "q7Lw0vB3n9Zx2Kc5Rt8Yp1Hs4Dj6Fg0Mb3Nv7Xc9Qa2We5Rt8Yu1Io4Pa7Sd0Fg3Hj6"
GOOD_KEYS = "prod1:" + base64.b64encode(bytes(range(32))).decode()
GOOD_AUDIT_KEYS = "audit1:" + base64.b64encode(bytes(range(100, 132))).decode()


def _run_check(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TRELLIS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "trellis", "check", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
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
    # Each line names its check, the id to silence it by in SILENCED_SYSTEM_CHECKS.
    assert "[trellis.E002]" in out


@pytest.mark.slow
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
    # Django's own checks for the same settings are silenced: each problem is listed once.
    for duplicate in ("security.W004", "security.W009", "security.W018", "security.W020"):
        assert duplicate not in out, duplicate


@pytest.mark.slow
def test_good_production_configuration_passes_without_reaching_the_database(tmp_path):
    result = _run_check(
        tmp_path,
        TRELLIS_ENV="production",
        TRELLIS_SECRET_KEY=GOOD_SECRET,
        TRELLIS_DATA_KEYS=GOOD_KEYS,
        TRELLIS_AUDIT_KEYS=GOOD_AUDIT_KEYS,
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


def test_production_flag_judges_a_development_configuration_as_production(tmp_path):
    result = _run_check(tmp_path, "--production", TRELLIS_ENV="dev")
    assert result.returncode == 1
    assert "✗ DEBUG is on" in result.stdout
    assert "✗ TRELLIS_SECRET_KEY is a placeholder or the development key" in result.stdout


@pytest.mark.parametrize(
    "key",
    ["short-but-random-1234", "change-me-" + "x" * 60, "a" * 80],
)
def test_weak_secret_keys_are_errors(settings, key):
    settings.SECRET_KEY = key
    assert [m.level for m in checks.secret_key()] == [ERROR]


def test_unparsable_data_keys_are_an_error(settings):
    settings.TRELLIS_DATA_KEYS = "prod1:not-base64"
    messages = checks.data_keys()
    assert [(m.level, m.id) for m in messages] == [(ERROR, "trellis.E007")]
    assert "cannot be read" in messages[0].msg


def test_a_data_key_named_like_the_development_one_is_a_warning(settings):
    settings.TRELLIS_DATA_KEYS = GOOD_KEYS.replace("prod1:", "dev1:")
    assert [(m.level, m.id) for m in checks.data_keys()] == [(WARNING, "trellis.W001")]


def test_trellis_checks_run_as_django_deployment_checks_only():
    trellis_checks = {
        checks.debug_off,
        checks.secret_key,
        checks.data_keys,
        checks.email,
        checks.database,
        checks.cookies_and_hsts,
        checks.allowed_hosts,
    }
    # Not before every command (migrate, runserver): only with --deploy, as `trellis check` runs.
    assert not trellis_checks & set(registry.get_checks())
    assert trellis_checks <= set(registry.get_checks(include_deployment_checks=True))
    assert all(checks.TRELLIS in check.tags for check in trellis_checks)


def test_apps_can_register_their_own_checks():
    def on_call_clinician_configured(app_configs=None, **kwargs):
        return [Error("no on-call clinician is configured", hint="set one in the clinic settings")]

    register(on_call_clinician_configured, Tags.security, deploy=True)
    try:
        messages = run_checks(tags=[Tags.security], include_deployment_checks=True)
        assert "no on-call clinician is configured" in [m.msg for m in messages]
    finally:
        registry.deployment_checks.discard(on_call_clinician_configured)
