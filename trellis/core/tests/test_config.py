import pytest

from trellis.core.config import env_bool, env_int, mailers_from_url


def test_smtp_url_becomes_a_mailer_with_starttls(monkeypatch):
    mailer = mailers_from_url("smtp://clinic%40example.org:s3cret@mail.example.org:587?tls=1")[
        "default"
    ]
    assert mailer["BACKEND"].endswith("smtp.EmailBackend")
    assert mailer["OPTIONS"] == {
        "host": "mail.example.org",
        "port": 587,
        "username": "clinic@example.org",
        "password": "s3cret",
        "use_ssl": False,
        "use_tls": True,
        "timeout": 10,
    }


def test_smtps_url_uses_implicit_tls_on_465():
    options = mailers_from_url("smtps://mail.example.org")["default"]["OPTIONS"]
    assert options["use_ssl"] is True
    assert options["port"] == 465


def test_console_and_empty_email_urls():
    assert mailers_from_url("console://")["default"]["BACKEND"].endswith("console.EmailBackend")
    assert mailers_from_url("")["default"]["BACKEND"].endswith("dummy.EmailBackend")


def test_unknown_email_scheme_is_refused():
    with pytest.raises(RuntimeError, match="EMAIL_URL"):
        mailers_from_url("sendgrid://key")


def test_booleans_and_integers_are_parsed_strictly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(RuntimeError, match="X_FLAG"):
        env_bool("X_FLAG", False)
    monkeypatch.setenv("X_NUM", "15")
    assert env_int("X_NUM", 1) == 15
    monkeypatch.setenv("X_NUM", "fifteen")
    with pytest.raises(RuntimeError, match="whole number"):
        env_int("X_NUM", 1)
    assert env_int("X_MISSING", 7) == 7
