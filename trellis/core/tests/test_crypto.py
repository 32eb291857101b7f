import base64

import pytest

from trellis.core import crypto

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()


def ring(spec: str) -> crypto.KeyRing:
    return crypto.parse_keys(spec)


def test_round_trip_names_the_newest_key():
    keys = ring(f"new:{KEY_B},old:{KEY_A}")
    stored = crypto.encrypt("I felt calmer today", context="journal.text", ring=keys)
    assert stored.startswith("enc:v1:new:")
    assert "calmer" not in stored
    assert crypto.decrypt(stored, context="journal.text", ring=keys) == "I felt calmer today"


def test_same_text_encrypts_differently_each_time():
    keys = ring(f"k:{KEY_A}")
    assert crypto.encrypt("x", context="c", ring=keys) != crypto.encrypt(
        "x", context="c", ring=keys
    )


def test_older_key_still_decrypts_after_a_new_one_is_added():
    stored = crypto.encrypt("text", context="c", ring=ring(f"old:{KEY_A}"))
    assert crypto.decrypt(stored, context="c", ring=ring(f"new:{KEY_B},old:{KEY_A}")) == "text"


def test_tampered_ciphertext_is_detected():
    keys = ring(f"k:{KEY_A}")
    stored = crypto.encrypt("dose 20 mg", context="c", ring=keys)
    prefix, payload = stored.rsplit(":", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 1
    tampered = f"{prefix}:{base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(crypto.DecryptionError, match="authentication"):
        crypto.decrypt(tampered, context="c", ring=keys)


def test_value_moved_to_another_column_does_not_decrypt():
    keys = ring(f"k:{KEY_A}")
    stored = crypto.encrypt("secret", context="messaging.message.body", ring=keys)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored, context="accounts.user.phone", ring=keys)


def test_unknown_key_id_is_a_configuration_error():
    stored = crypto.encrypt("text", context="c", ring=ring(f"gone:{KEY_A}"))
    with pytest.raises(crypto.KeyConfigurationError, match="gone"):
        crypto.decrypt(stored, context="c", ring=ring(f"other:{KEY_B}"))


def test_wrong_key_under_the_same_id_fails_authentication():
    stored = crypto.encrypt("text", context="c", ring=ring(f"k:{KEY_A}"))
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored, context="c", ring=ring(f"k:{KEY_B}"))


@pytest.mark.parametrize(
    "stored",
    ["plain text", "enc:v1:k:!!!", "enc:v1:k:" + base64.b64encode(b"short").decode()],
)
def test_malformed_stored_values_are_refused(stored):
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored, context="c", ring=ring(f"k:{KEY_A}"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "holds no key"),
        ("k1", "must look like"),
        ("bad id:" + KEY_A, "must look like"),
        ("k1:not base64", "not valid base64"),
        ("k1:" + base64.b64encode(b"x" * 16).decode(), "32 bytes"),
        (f"k1:{KEY_A},k1:{KEY_B}", "twice"),
    ],
)
def test_malformed_keys_configuration_is_refused(spec, message):
    with pytest.raises(crypto.KeyConfigurationError, match=message):
        crypto.parse_keys(spec)


def test_key_id_of_reads_the_key_id():
    assert crypto.key_id_of("enc:v1:k7:abc") == "k7"
    assert crypto.key_id_of("plain") is None
