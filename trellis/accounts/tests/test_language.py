"""The language Trellis speaks: the person's choice, else the browser's, else English."""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import Any

from django.test import Client
from django.utils import translation

from trellis.alerts.tests.helpers import alex_with_maria, item9_event
from trellis.audit.models import AuditEvent

LOGIN = "/accounts/login/"
ACCOUNT = "/accounts/security/"
CHOOSE = "/accounts/language/"


def test_signed_out_pages_follow_the_browser(db: Any) -> None:
    page = Client().get(LOGIN, HTTP_ACCEPT_LANGUAGE="fi-FI,fi;q=0.9,en;q=0.5")
    text = page.content.decode()
    assert '<html lang="fi">' in text
    assert "Kirjaudu Trellisiin" in text
    assert page["Content-Language"] == "fi"


def test_spanish_browser_gets_spanish(db: Any) -> None:
    text = Client().get(LOGIN, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert "Inicia sesión en Trellis" in text


def test_a_language_trellis_does_not_speak_falls_back_to_english(db: Any) -> None:
    page = Client().get(LOGIN, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert page.status_code == 200
    assert '<html lang="en">' in page.content.decode()
    assert "Sign in to Trellis" in page.content.decode()


def test_the_persons_choice_wins_over_the_browser(client_for: Any, cast: Any) -> None:
    patient = cast["patient_alex"]
    patient.language = "es"
    patient.save(update_fields=["language"])
    client = client_for("patient_alex")
    text = client.get(ACCOUNT, HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    assert '<html lang="es">' in text
    assert "Mi cuenta y seguridad" in text


def test_a_stale_choice_follows_the_browser_without_breaking(client_for: Any, cast: Any) -> None:
    patient = cast["patient_alex"]
    patient.language = "de"  # a language no longer offered
    patient.save(update_fields=["language"])
    page = client_for("patient_alex").get(ACCOUNT, HTTP_ACCEPT_LANGUAGE="fi")
    assert page.status_code == 200
    assert '<html lang="fi">' in page.content.decode()


def test_choosing_a_language_on_my_account_saves_it(client_for: Any, cast: Any) -> None:
    client = client_for("therapist_maria")
    response = client.post(CHOOSE, {"language": "fi"})
    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    maria = cast["therapist_maria"]
    maria.refresh_from_db()
    assert maria.language == "fi"
    event = AuditEvent.objects.get(action="account.language")
    assert event.details == {"from": "", "to": "fi"}
    text = client.get(ACCOUNT, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Oma tili ja turvallisuus" in text
    assert "Trellis puhuu nyt valitsemaasi kieltä." in text


def test_blank_follows_the_browser_again(client_for: Any, cast: Any) -> None:
    alex = cast["patient_alex"]
    alex.language = "fi"
    alex.save(update_fields=["language"])
    client = client_for("patient_alex")
    assert client.post(CHOOSE, {"language": ""}).status_code == 302
    alex.refresh_from_db()
    assert alex.language == ""
    assert '<html lang="es">' in client.get(ACCOUNT, HTTP_ACCEPT_LANGUAGE="es").content.decode()


def test_an_unknown_language_is_refused_with_a_message(client_for: Any, cast: Any) -> None:
    client = client_for("patient_alex")
    response = client.post(CHOOSE, {"language": "xx"})
    assert response.status_code == 400
    assert "Choose a language from the list." in response.content.decode()
    cast["patient_alex"].refresh_from_db()
    assert cast["patient_alex"].language == ""


def test_the_sign_in_switcher_remembers_the_choice_in_this_browser(db: Any) -> None:
    client = Client()
    response = client.post(CHOOSE, {"language": "es", "next": LOGIN})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    text = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    assert "Inicia sesión en Trellis" in text


def test_the_switcher_never_sends_people_off_site(db: Any) -> None:
    response = Client().post(CHOOSE, {"language": "fi", "next": "https://example.com/"})
    assert response["Location"] == ACCOUNT


def test_the_sign_in_page_offers_every_language(db: Any) -> None:
    text = Client().get(LOGIN).content.decode()
    for name in ("English", "Suomi", "Español"):
        assert name in text


def test_my_account_shows_the_language_field(client_for: Any) -> None:
    text = client_for("patient_alex").get(ACCOUNT).content.decode()
    assert 'name="language"' in text
    assert "The same as my browser" in text


# E-mails are written in their reader's language ------------------------------------------


def test_a_password_reset_mail_is_in_the_persons_language(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alex = cast["patient_alex"]
    alex.language = "es"
    alex.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(CHOOSE.replace("language/", "password-reset/"), {"email": alex.email})
    [mail] = smtp.to(alex.email)
    assert str(make_header(decode_header(mail.subject))) == "Restablece tu contraseña de Trellis"
    assert "Hola, " in mail.body


def test_a_safety_alert_mail_is_in_the_clinicians_language_not_the_patients(
    cast: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alex = cast["patient_alex"]
    alex.language = "fi"
    alex.save(update_fields=["language"])
    enrollment = alex_with_maria(cast)
    with translation.override("fi"), django_capture_on_commit_callbacks(execute=True):
        item9_event(enrollment, 1)
    [mail] = smtp.to(cast["therapist_maria"].email)
    assert mail.subject == "Urgent: a safety alert about a patient of yours"

    maria = cast["therapist_maria"]
    maria.language = "es"
    maria.save(update_fields=["language"])
    with translation.override("fi"), django_capture_on_commit_callbacks(execute=True):
        item9_event(enrollment, 2)
    subject = smtp.to(maria.email)[-1].subject
    assert str(make_header(decode_header(subject))) == (
        "Urgente: una alerta de seguridad sobre un paciente tuyo"
    )
