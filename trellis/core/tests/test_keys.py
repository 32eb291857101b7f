import base64
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from trellis.accounts.models import User
from trellis.audit.models import AuditEvent
from trellis.core import crypto

K1 = "k1:" + base64.b64encode(b"1" * 32).decode()
K2 = "k2:" + base64.b64encode(b"2" * 32).decode()
PHONES = {
    "patient_alex": "+1 555 0101",
    "patient_blair": "+1 555 0102",
    "patient_casey": "+1 555 0103",
    "therapist_maria": "+1 555 0199",
}


@pytest.fixture
def keys(settings):
    """Switch TRELLIS_DATA_KEYS; the parsed key ring is cached per value."""

    def use(spec: str) -> None:
        settings.TRELLIS_DATA_KEYS = spec
        crypto._ring_for.cache_clear()

    yield use
    crypto._ring_for.cache_clear()


def _raw_phones() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, phone FROM accounts_user WHERE phone <> ''")
        return dict(cursor.fetchall())


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def phones_under_k1(cast, keys):
    keys(K1)
    for key, phone in PHONES.items():
        user = cast[key]
        user.phone = phone
        user.save(update_fields=["phone"])
    raw = _raw_phones()
    assert len(raw) == len(PHONES)
    assert all(v.startswith("enc:v1:k1:") for v in raw.values())
    return cast


def test_rotate_moves_every_value_to_the_newest_key(phones_under_k1, keys):
    cast = phones_under_k1
    keys(f"{K2},{K1}")
    out = _run("rotate", "--batch-size", "2")
    assert "accounts.user.phone: 4 re-encrypted, 0 remaining" in out
    raw = _raw_phones()
    assert all(v.startswith("enc:v1:k2:") for v in raw.values())
    for key, phone in PHONES.items():
        assert User.objects.get(pk=cast[key].pk).phone == phone
    # The old key can now be dropped.
    keys(K2)
    for key, phone in PHONES.items():
        assert User.objects.get(pk=cast[key].pk).phone == phone
    event = AuditEvent.objects.filter(action="keys.rotate").latest("id")
    assert event.details["key_id"] == "k2"
    assert event.details["rotated"] == 4
    assert event.details["remaining"] == 0


def test_interrupted_rotation_resumes_where_it_stopped(phones_under_k1, keys):
    keys(f"{K2},{K1}")
    first = _run("rotate", "--limit", "3", "--batch-size", "2")
    assert "3 values re-encrypted; 1 remain" in first
    assert sorted(v[:10] for v in _raw_phones().values()) == ["enc:v1:k1:"] + ["enc:v1:k2:"] * 3
    second = _run("rotate")
    assert "1 values re-encrypted; every value is under key k2" in second
    third = _run("rotate")
    assert "0 values re-encrypted" in third
    assert AuditEvent.objects.filter(action="keys.rotate").count() == 3


def test_rotation_does_not_overwrite_a_value_changed_meanwhile(phones_under_k1, keys):
    # A value written under the newest key is simply not selected again.
    cast = phones_under_k1
    keys(f"{K2},{K1}")
    maria = cast["therapist_maria"]
    maria.phone = "+1 555 0200"
    maria.save(update_fields=["phone"])
    _run("rotate")
    assert User.objects.get(pk=maria.pk).phone == "+1 555 0200"


def test_status_counts_values_per_key(phones_under_k1, keys):
    keys(f"{K2},{K1}")
    out = _run("status")
    assert "Configured keys (newest first): k2, k1" in out
    assert "accounts.user.phone: k1: 4" in out
    assert "4 values are not under the newest key k2" in out
    _run("rotate")
    assert "Every value is under the newest key k2" in _run("status")


def test_rotation_refuses_when_a_needed_key_is_missing(phones_under_k1, keys):
    keys(K2)  # k1 dropped too early
    with pytest.raises(CommandError, match="k1"):
        _run("rotate")
    assert all(v.startswith("enc:v1:k1:") for v in _raw_phones().values())


def test_generate_prints_a_usable_key_line(db):
    line = _run("generate", "--id", "k3").strip()
    ring = crypto.parse_keys(line)
    assert ring.current_id == "k3"
    assert (
        crypto.decrypt(crypto.encrypt("hi", context="c", ring=ring), context="c", ring=ring) == "hi"
    )
    assert crypto.parse_keys(_run("generate").strip()).current_id


def test_generate_refuses_a_bad_id(db):
    with pytest.raises(CommandError):
        _run("generate", "--id", "no spaces")


def test_bad_keys_configuration_is_a_clear_error(db, keys):
    keys("k1:not-base64!")
    with pytest.raises(CommandError, match="TRELLIS_DATA_KEYS"):
        _run("status")
