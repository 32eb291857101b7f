"""`trellis check` refuses a production audit trail without a key of the clinic's own."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from django.core.checks import ERROR, WARNING

from trellis.audit import checks

AUDIT_KEY = "audit1:" + base64.b64encode(bytes(range(100, 132))).decode()
DATA_KEY = "prod1:" + base64.b64encode(bytes(range(32))).decode()


def _levels(messages: list) -> list[tuple[int, str]]:
    return [(m.level, m.id) for m in messages]


@pytest.mark.slow
def test_production_without_audit_keys_fails_trellis_check(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TRELLIS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "TRELLIS_ENV": "production",
    }
    result = subprocess.run(
        [sys.executable, "-m", "trellis", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "✗ TRELLIS_AUDIT_KEYS is missing (audit events cannot be sealed)" in result.stdout


def test_the_development_audit_key_is_an_error(settings):
    settings.TRELLIS_AUDIT_KEYS = settings.DEV_AUDIT_KEYS
    assert _levels(checks.audit_keys()) == [(ERROR, "audit.E002")]


def test_the_development_audit_key_under_another_id_is_an_error(settings):
    settings.TRELLIS_AUDIT_KEYS = "mine:" + settings.DEV_AUDIT_KEYS.split(":", 1)[1]
    assert _levels(checks.audit_keys()) == [(ERROR, "audit.E002")]


def test_unreadable_audit_keys_are_an_error(settings):
    settings.TRELLIS_AUDIT_KEYS = "audit1:not-base64"
    assert _levels(checks.audit_keys()) == [(ERROR, "audit.E003")]


def test_an_audit_key_that_is_also_a_data_key_is_a_warning(settings):
    settings.TRELLIS_DATA_KEYS = DATA_KEY
    settings.TRELLIS_AUDIT_KEYS = "audit1:" + DATA_KEY.split(":", 1)[1]
    assert _levels(checks.audit_keys()) == [(WARNING, "audit.W001")]


def test_a_key_of_the_clinics_own_passes(settings):
    settings.TRELLIS_DATA_KEYS = DATA_KEY
    settings.TRELLIS_AUDIT_KEYS = AUDIT_KEY
    assert checks.audit_keys() == []


def test_an_anchor_file_in_a_missing_folder_is_an_error(settings, tmp_path):
    settings.TRELLIS_AUDIT_ANCHOR_FILE = str(tmp_path / "nowhere" / "anchors.jsonl")
    assert _levels(checks.audit_anchor_file()) == [(ERROR, "audit.E004")]


def test_an_anchor_file_that_cannot_be_written_is_an_error(settings, tmp_path):
    taken = tmp_path / "anchors.jsonl"
    taken.mkdir()  # a folder where the file should be
    settings.TRELLIS_AUDIT_ANCHOR_FILE = str(taken)
    assert _levels(checks.audit_anchor_file()) == [(ERROR, "audit.E005")]


def test_a_writable_anchor_file_passes(settings, tmp_path):
    settings.TRELLIS_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors.jsonl")
    assert checks.audit_anchor_file() == []
