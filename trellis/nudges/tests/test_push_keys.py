"""VAPID keys: made by `trellis keys vapid`, read from settings, checked, and made once per
machine outside production when none is set; the public half is what the page reads."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import ERROR
from django.core.management import call_command
from django.test import Client

from trellis.core import vapid
from trellis.nudges import checks, webpush
from trellis.nudges.tests.push_setup import use_new_keys


@pytest.fixture(autouse=True)
def no_cached_pairs() -> Any:
    webpush._pairs.clear()
    yield
    webpush._pairs.clear()


def test_a_generated_pair_is_a_p256_pair_in_unpadded_base64url() -> None:
    private, public = vapid.generate_pair()
    assert "=" not in private + public
    assert len(vapid.b64url_decode(private)) == 32
    raw = vapid.b64url_decode(public)
    assert len(raw) == 65 and raw[0] == 4
    assert vapid.public_key_of(private) == public
    assert vapid.public_bytes(vapid.public_key(public)) == raw


@pytest.mark.parametrize("text", ["", "not base64!", "AAAA", "A" * 43 + "$"])
def test_a_private_key_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(vapid.VapidKeyError):
        vapid.private_key(text)


def test_a_public_key_off_the_curve_is_refused() -> None:
    off_curve = vapid.b64url(b"\x04" + b"\x01" * 64)
    with pytest.raises(vapid.VapidKeyError):
        vapid.public_key(off_curve)
    with pytest.raises(vapid.VapidKeyError):
        vapid.public_key(vapid.b64url(b"\x02" + b"\x01" * 32))


def test_trellis_keys_vapid_prints_a_pair_for_the_settings() -> None:
    out = io.StringIO()
    call_command("keys", "vapid", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().split())
    assert set(lines) == {"TRELLIS_VAPID_PRIVATE_KEY", "TRELLIS_VAPID_PUBLIC_KEY"}
    assert (
        vapid.public_key_of(lines["TRELLIS_VAPID_PRIVATE_KEY"]) == lines["TRELLIS_VAPID_PUBLIC_KEY"]
    )


def test_configured_keys_are_used_and_the_public_half_may_be_left_out(settings: Any) -> None:
    keys = use_new_keys(settings)
    assert keys.subject == "mailto:care@riverside.example"
    settings.TRELLIS_VAPID_PUBLIC_KEY = ""
    assert webpush.vapid_keys().public == keys.public


def test_a_public_key_that_is_not_the_private_keys_half_is_refused(settings: Any) -> None:
    use_new_keys(settings)
    settings.TRELLIS_VAPID_PUBLIC_KEY = vapid.generate_pair()[1]
    with pytest.raises(webpush.PushNotConfigured, match="not the public half"):
        webpush.vapid_keys()


def test_a_private_key_that_is_not_one_is_not_configured(settings: Any) -> None:
    settings.TRELLIS_VAPID_PRIVATE_KEY = "too-short"
    with pytest.raises(webpush.PushNotConfigured, match="TRELLIS_VAPID_PRIVATE_KEY"):
        webpush.vapid_keys()


def test_production_without_keys_has_no_push(settings: Any) -> None:
    settings.TRELLIS_VAPID_PRIVATE_KEY = ""
    settings.PRODUCTION = True
    with pytest.raises(webpush.PushNotConfigured):
        webpush.vapid_keys()


def test_outside_production_a_pair_is_made_once_and_kept_private(
    settings: Any, tmp_path: Path
) -> None:
    settings.TRELLIS_VAPID_PRIVATE_KEY = ""
    settings.TRELLIS_VAPID_PUBLIC_KEY = ""
    settings.TRELLIS_ENV = "dev"
    settings.VAR_DIR = tmp_path / "var"
    first = webpush.vapid_keys()
    kept = tmp_path / "var" / "vapid-development.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["public"] == first.public
    webpush._pairs.clear()  # another process (a worker) reads the same pair
    assert webpush.vapid_keys() == first
    assert vapid.public_key_of(first.private) == first.public
    assert [p.name for p in kept.parent.iterdir()] == [kept.name]


def test_tests_get_a_pair_of_their_own_process_written_nowhere(
    settings: Any, tmp_path: Path
) -> None:
    settings.TRELLIS_VAPID_PRIVATE_KEY = ""
    settings.TRELLIS_ENV = "test"
    settings.VAR_DIR = tmp_path
    first = webpush.vapid_keys()
    assert webpush.vapid_keys() == first
    assert vapid.public_key_of(first.private) == first.public
    assert not list(tmp_path.iterdir())


def test_the_subject_defaults_to_the_sender_address(settings: Any) -> None:
    settings.TRELLIS_VAPID_SUBJECT = ""
    settings.DEFAULT_FROM_EMAIL = "Riverside <care@riverside.example>"
    assert webpush.vapid_subject() == "mailto:care@riverside.example"


def test_the_page_reads_the_public_key(settings: Any, client: Client) -> None:
    keys = use_new_keys(settings)
    response = client.get("/nudges/push/key/")
    assert response.status_code == 200
    assert response.json() == {"publicKey": keys.public}
    assert keys.private not in response.content.decode()


def test_without_keys_in_production_the_key_endpoint_says_so(settings: Any, client: Client) -> None:
    settings.TRELLIS_VAPID_PRIVATE_KEY = ""
    settings.PRODUCTION = True
    response = client.get("/nudges/push/key/")
    assert response.status_code == 404
    assert "not set up" in response.json()["errors"][0]["message"]


def test_trellis_check_refuses_push_keys_that_are_set_but_unusable(settings: Any) -> None:
    settings.TRELLIS_VAPID_PRIVATE_KEY = ""
    assert checks.vapid_keys() == []
    use_new_keys(settings)
    assert checks.vapid_keys() == []
    settings.TRELLIS_VAPID_PUBLIC_KEY = vapid.generate_pair()[1]
    [problem] = checks.vapid_keys()
    assert (problem.level, problem.id) == (ERROR, "push.E001")
    assert "trellis keys vapid" in (problem.hint or "")
