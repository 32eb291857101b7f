"""E-mail over SMTP through Django's mailers: plain text plus HTML, a Message-ID fixed by
the delivery key, and one-click unsubscribe (RFC 8058: `List-Unsubscribe` with an https
link, a mailto only where the clinic names a mailbox someone reads, and
`List-Unsubscribe-Post`)."""

from __future__ import annotations

import contextlib
import email.charset
import email.header
import email.policy
import email.utils
import json
import smtplib
import threading
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers

from trellis.nudges import tokens
from trellis.nudges.channels.base import Message, Outcome

if TYPE_CHECKING:
    from trellis.nudges.models import Delivery


def _smtp_code_outcome(code: int, text: str) -> Outcome:
    reason = f"smtp {code}: {text}"[:80]
    if 500 <= code < 600:
        return Outcome("permanent", reason=reason)
    return Outcome("temporary", reason=reason)


# The body parts as quoted-printable UTF-8: readable in the raw message, safe on any server.
_UTF8 = email.charset.Charset("utf-8")
_UTF8.body_encoding = email.charset.QP
# Headers folded only where RFC 5322 requires (998 characters), lines ended for SMTP.
_POLICY = email.policy.compat32.clone(max_line_length=998, linesep="\r\n")


def _header(value: str) -> str | email.header.Header:
    """A header value as it goes out: ASCII as it is, anything else as an RFC 2047 word
    (a subject in Finnish). A line break in a value would start a header of its own."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"a header value with a line break: {value!r}")
    return value if value.isascii() else email.header.Header(value, "utf-8", 998)


def _address(value: str) -> str:
    name, address = email.utils.parseaddr(value)
    if "\n" in value or "\r" in value or not address:
        raise ValueError(f"not an e-mail address: {value!r}")
    return email.utils.formataddr((name, address), charset="utf-8")


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, policy=_POLICY)
    part.set_payload(text, _UTF8)
    return part


class NudgeEmail(EmailMultiAlternatives):
    """A nudge e-mail, built with the standard library's classic message classes.

    The policy-based builder Django uses parses every header it is given back into
    structured form, which costs about as much as the rest of a send together; a nudge's
    headers are all Trellis's own (no address lists, no user-supplied names), so they are
    written as they are. Headers are folded only where RFC 5322 requires (998 characters):
    a fold inside `List-Unsubscribe`, with its long signed link, would fall back to an
    RFC 2047 encoded word, which mail programs do not read as a link.
    """

    def message(self, *, policy: Any = None) -> Any:
        # Typed loosely: the classic classes take an encoded Header as a value at run time.
        msg: Any = MIMEMultipart("alternative", policy=_POLICY)
        msg.attach(_text_part(str(self.body), "plain"))
        for content, mimetype in self.alternatives:
            msg.attach(_text_part(str(content), mimetype.split("/", 1)[1]))
        msg["Subject"] = _header(str(self.subject))
        msg["From"] = _address(str(self.from_email))
        msg["To"] = ", ".join(_address(to) for to in self.to)
        msg["Date"] = email.utils.formatdate(usegmt=True)
        for name, value in self.extra_headers.items():
            msg[name] = _header(str(value))
        return msg


class _Connections(threading.local):
    """One open connection to the mail server per worker thread, reused from one e-mail to
    the next (a worker sending a batch does not dial the server for every message); a
    change of the mail settings opens a new one."""

    def __init__(self) -> None:
        self.key = ""
        self.mailer: Any = None

    def get(self) -> tuple[Any, bool]:
        """The open connection, and whether it was opened just now."""
        config = getattr(settings, "MAILERS", {}).get("default", {})
        key = json.dumps(config, sort_keys=True, default=str)
        if self.mailer is not None and key == self.key:
            return self.mailer, False
        self.close()
        self.key, self.mailer = key, mailers.default
        self.mailer.open()
        return self.mailer, True

    def close(self) -> None:
        mailer, self.mailer = self.mailer, None
        if mailer is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):  # already broken
                mailer.close()


_connections = _Connections()


def _send_on_open_connection(mail: EmailMultiAlternatives) -> None:
    """Send through this thread's open connection. A reused connection that turns out to
    be broken (the server dropped it while idle, or restarted) is dialled again once; a
    fresh connection that fails is a failure."""
    while True:
        mailer, fresh = _connections.get()
        try:
            mailer.send_messages([mail])
            return
        except smtplib.SMTPRecipientsRefused:
            raise  # the server answered; the connection is fine
        except (smtplib.SMTPException, OSError):
            _connections.close()
            if fresh:
                raise


class EmailSender:
    channel = "email"

    def headers(self, delivery: Delivery) -> dict[str, str]:
        links = [f"<{tokens.unsubscribe_url(delivery.recipient_id)}>"]
        mailbox = getattr(settings, "TRELLIS_UNSUBSCRIBE_MAILBOX", "")
        if mailbox:
            # Only where someone reads that mailbox: an unread one would swallow the request.
            token = tokens.unsubscribe_token(delivery.recipient_id)
            links.append(f"<mailto:{mailbox}?subject=unsubscribe%20{token}>")
        return {
            "Message-ID": tokens.message_id(delivery.key),
            "List-Unsubscribe": ", ".join(links),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        }

    def send(self, delivery: Delivery, message: Message) -> Outcome:
        address = delivery.recipient.email
        if not address:
            return Outcome("permanent", reason="no e-mail address")
        mail = NudgeEmail(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            headers=self.headers(delivery),
        )
        mail.attach_alternative(message.html, "text/html")
        try:
            _send_on_open_connection(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            code, text = next(iter(error.recipients.values()))
            if codes and all(500 <= c < 600 for c in codes):
                return _smtp_code_outcome(code, text.decode(errors="replace"))
            return _smtp_code_outcome(min(codes or [451]), text.decode(errors="replace"))
        except smtplib.SMTPResponseException as error:
            # A refusal of the sender or of the message itself is the clinic's mail set-up,
            # not the person's address: try again later rather than block the person.
            message_text = (
                error.smtp_error.decode(errors="replace")
                if isinstance(error.smtp_error, bytes)
                else str(error.smtp_error)
            )
            return Outcome("temporary", reason=f"smtp {error.smtp_code}: {message_text}"[:80])
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            return Outcome("temporary", reason=f"smtp: {type(error).__name__}"[:80])
        return Outcome("sent", provider_id=tokens.message_id(delivery.key))


sender = EmailSender()
