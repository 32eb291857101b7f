"""E-mail nudges over a real SMTP exchange: plain text and HTML, a Message-ID fixed by the
delivery key, RFC 8058 one-click unsubscribe, subjects without health details, and the
recipient's language."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from trellis.audit.models import AuditEvent
from trellis.core.testing import SmtpServer
from trellis.nudges import dispatch, messages, services, tokens
from trellis.nudges.channels.email import NudgeEmail
from trellis.nudges.models import BlockReason, ContactBlock, Delivery
from trellis.nudges.tests.pipeline_helpers import (
    alex_with,
    counting_smtp,
    mail_settings,
    queue_one,
)

pytestmark = pytest.mark.django_db

TUESDAY = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York

PATIENT_TEMPLATES = [
    "exercise_today",
    "questionnaire_due",
    "questionnaire_overdue",
    "inactivity",
    "message_waiting",
    "weekly_summary",
]
# Words that would tell a reader of an inbox list something about the patient's health.
HEALTH_WORDS = re.compile(
    r"phq|gad|depress|anxi|panic|mood|symptom|score|therap|mental|suicid|harm|diagnos|"
    r"questionnaire|treatment|overdue",
    re.IGNORECASE,
)


def send(cast: Any, template: str = "exercise_today", key: str = "k", **extra: Any) -> Delivery:
    enrollment = alex_with(cast, now=TUESDAY, **extra)
    [row] = services.queue_nudge(
        recipient=cast["patient_alex"],
        organization=enrollment.organization,
        template=template,
        context={"steps_completed": 3, "active_days": 2},
        key=key,
        enrollment=enrollment,
        channels=["email"],
        not_before=TUESDAY,
        transactional=True,
    )
    return dispatch.deliver(row.pk, now=TUESDAY)


def test_the_email_has_plain_text_and_html_with_the_nudges_link(
    cast: Any, smtp: SmtpServer
) -> None:
    delivery = send(cast)
    [mail] = smtp.to("alex@patients.example")
    assert mail.message.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in mail.message.walk()]
    assert "text/plain" in types and "text/html" in types
    link = f"http://127.0.0.1:8000/n/{delivery.pk}/"
    assert link in mail.body
    html = next(p for p in mail.message.walk() if p.get_content_type() == "text/html")
    html_text = html.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert f'href="{link}"' in html_text
    assert mail.subject == "Today's step is ready"


def test_the_message_id_is_fixed_by_the_delivery_key(cast: Any, smtp: SmtpServer) -> None:
    delivery = send(cast, key="exercise:alex:2026-03-03")
    [mail] = smtp.messages
    assert mail.message["Message-ID"] == tokens.message_id("exercise:alex:2026-03-03:email")
    assert tokens.message_id(delivery.key) == tokens.message_id(delivery.key)
    assert tokens.message_id(delivery.key) != tokens.message_id("another:email")
    assert re.fullmatch(r"<nudge\.[0-9a-f]{40}@trellis\.local>", mail.message["Message-ID"])


def test_the_email_offers_one_click_unsubscribe(cast: Any, smtp: SmtpServer) -> None:
    send(cast)
    [mail] = smtp.messages
    header = mail.message["List-Unsubscribe"]
    assert "=?" not in header, "the links must not be hidden in an encoded word"
    [https] = re.findall(r"<([^>]+)>", header)
    assert https.startswith("http://127.0.0.1:8000/unsubscribe/")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert https in mail.body


def test_a_mailto_is_offered_only_for_a_mailbox_the_clinic_reads(
    cast: Any, smtp: SmtpServer, settings: Any
) -> None:
    settings.TRELLIS_UNSUBSCRIBE_MAILBOX = "stop-emails@riverside.example"
    send(cast)
    [mail] = smtp.messages
    https, mailto = re.findall(r"<([^>]+)>", mail.message["List-Unsubscribe"])
    assert https.startswith("http://127.0.0.1:8000/unsubscribe/")
    token = https.rstrip("/").rsplit("/", 1)[1]
    assert mailto == f"mailto:stop-emails@riverside.example?subject=unsubscribe%20{token}"


@pytest.mark.parametrize("template", PATIENT_TEMPLATES)
def test_no_subject_or_short_text_carries_health_details(
    cast: Any, smtp: SmtpServer, template: str
) -> None:
    delivery = send(cast, template=template)
    [mail] = smtp.messages
    assert not HEALTH_WORDS.search(mail.subject), mail.subject
    message = messages.render(delivery)
    assert not HEALTH_WORDS.search(message.short), message.short


def test_the_inactivity_email_is_warm_and_short(cast: Any, smtp: SmtpServer) -> None:
    send(cast, template="inactivity")
    [mail] = smtp.messages
    text = mail.body.split("http")[0]
    assert "thinking of you" in text.lower()
    assert len(text) < 300
    assert not HEALTH_WORDS.search(text)


def test_the_email_is_written_in_the_recipients_language(cast: Any, smtp: SmtpServer) -> None:
    delivery = send(cast, language="fi")
    assert messages.language_of(delivery) == "fi"
    [mail] = smtp.messages
    html = next(p for p in mail.message.walk() if p.get_content_type() == "text/html")
    html_text = html.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert '<html lang="fi">' in html_text
    # Words the Finnish catalogue already has: the greeting and the button.
    assert mail.body.startswith("Hei,")
    assert "Avaa Trellis" in html_text


def test_without_a_choice_the_email_is_in_the_clinics_language(cast: Any, smtp: SmtpServer) -> None:
    delivery = send(cast)
    assert messages.language_of(delivery) == delivery.organization.locale


# Unsubscribe -----------------------------------------------------------------------------


def unsubscribe_path(cast: Any) -> str:
    return f"/unsubscribe/{tokens.unsubscribe_token(cast['patient_alex'].pk)}/"


def test_opening_the_unsubscribe_link_asks_first_and_changes_nothing(cast: Any) -> None:
    response = Client().get(unsubscribe_path(cast))
    assert response.status_code == 200
    assert b"Yes, stop these reminders" in response.content
    assert not ContactBlock.objects.exists()


def test_one_click_unsubscribe_needs_no_sign_in_and_no_csrf_cookie(cast: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(unsubscribe_path(cast), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    block = ContactBlock.objects.get(user=cast["patient_alex"])
    assert (block.channel, block.reason, block.lifted_at) == ("email", "unsubscribed", None)
    event = AuditEvent.objects.get(action="nudges.block")
    assert event.actor_id == cast["patient_alex"].pk
    assert event.details == {"channel": "email", "reason": BlockReason.UNSUBSCRIBED}
    # Clicking again changes nothing more.
    client.post(unsubscribe_path(cast), {"List-Unsubscribe": "One-Click"})
    assert ContactBlock.objects.count() == 1


def test_after_unsubscribing_email_nudges_are_suppressed(cast: Any, smtp: SmtpServer) -> None:
    Client().post(unsubscribe_path(cast), {"List-Unsubscribe": "One-Click"})
    delivery = send(cast, key="after")
    assert (delivery.status, delivery.reason) == ("suppressed", "blocked_unsubscribed")
    assert smtp.messages == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_changed_unsubscribe_token_is_refused_and_changes_nothing(cast: Any, method: str) -> None:
    token = tokens.unsubscribe_token(cast["patient_alex"].pk)
    response = getattr(Client(), method)(f"/unsubscribe/{token[:-2]}xx/")
    assert response.status_code == 400
    assert b"This link does not work" in response.content
    assert not ContactBlock.objects.exists()


def test_a_token_signed_for_something_else_is_refused(cast: Any) -> None:
    from django.core import signing

    forged = signing.dumps({"u": str(cast["patient_alex"].pk), "c": "email"}, salt="other")
    assert Client().post(f"/unsubscribe/{forged}/").status_code == 400
    assert not ContactBlock.objects.exists()


def test_other_posts_still_need_the_csrf_token(cast: Any, client_for: Any) -> None:
    client = client_for("patient_alex")
    client.handler.enforce_csrf_checks = True
    assert client.post("/notifications/read/").status_code == 403


# The connection to the mail server ---------------------------------------------------------


def queue_email(cast: Any, key: str) -> Delivery:
    enrollment = alex_with(cast, now=TUESDAY)
    return queue_one(cast, enrollment, key=key, not_before=TUESDAY, template="message_waiting")


def test_a_batch_of_emails_shares_one_connection(cast: Any, settings: Any) -> None:
    rows = [queue_email(cast, f"batch{i}") for i in range(3)]
    with counting_smtp() as (server, greetings):
        mail_settings(settings, server)
        for row in rows:
            assert dispatch.deliver(row.pk, now=TUESDAY).status == "sent"
    assert len(server.messages) == 3
    assert len(greetings) == 1


def test_a_connection_the_server_dropped_is_dialled_again(cast: Any, settings: Any) -> None:
    first, second = queue_email(cast, "one"), queue_email(cast, "two")
    with counting_smtp() as (server, _greetings):
        mail_settings(settings, server)
        assert dispatch.deliver(first.pk, now=TUESDAY).status == "sent"
    # The server restarts on the same port; the worker's open connection is now dead.
    with counting_smtp(port=server.port) as (restarted, greetings):
        done = dispatch.deliver(second.pk, now=TUESDAY)
    assert (done.status, done.attempts) == ("sent", 1)
    assert len(restarted.messages) == 1 and len(greetings) == 1


def test_a_subject_in_another_script_goes_as_an_encoded_word_and_reads_back() -> None:
    mail = NudgeEmail(
        "Päivän harjoitus odottaa",
        "Hei",
        "Trellis <noreply@example.org>",
        ["Äli <ali@example.org>"],
    )
    raw = mail.message().as_bytes()
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Päivän harjoitus odottaa"
    assert parsed["To"].addresses[0].display_name == "Äli"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hei"


@pytest.mark.parametrize("field", ["subject", "header", "to"])
def test_a_line_break_in_a_header_value_is_refused_not_sent_as_a_header(field: str) -> None:
    smuggled = "Hello\r\nBcc: someone@example.org"
    mail = NudgeEmail(
        smuggled if field == "subject" else "Hello",
        "Body",
        "Trellis <noreply@example.org>",
        [smuggled if field == "to" else "ali@example.org"],
        headers={"X-Trellis": smuggled} if field == "header" else {},
    )
    with pytest.raises(ValueError, match=r"line break|not an e-mail address"):
        mail.message()
