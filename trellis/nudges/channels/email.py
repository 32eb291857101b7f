"""E-mail over SMTP through Django's mailers: plain text plus HTML, a Message-ID fixed by
the delivery key, and one-click unsubscribe (RFC 8058: `List-Unsubscribe` with an https
link and a mailto, and `List-Unsubscribe-Post`)."""

from __future__ import annotations

import contextlib
import email.policy
import json
import smtplib
import threading
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


class NudgeEmail(EmailMultiAlternatives):
    """An e-mail whose headers are folded only where RFC 5322 requires (998 characters).

    The SMTP policy folds at 78 and, for a header it cannot break, such as
    `List-Unsubscribe` with its long signed link, falls back to an RFC 2047 encoded word,
    which mail programs do not read as a link. A long line is allowed; an encoded link is
    not one.
    """

    def message(self, *, policy: Any = email.policy.default) -> Any:
        return super().message(policy=policy.clone(max_line_length=998))


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
        token = tokens.unsubscribe_token(delivery.recipient_id)
        https = tokens.unsubscribe_url(delivery.recipient_id)
        mailto = f"mailto:unsubscribe@{tokens.mail_domain()}?subject=unsubscribe%20{token}"
        return {
            "Message-ID": tokens.message_id(delivery.key),
            "List-Unsubscribe": f"<{https}>, <{mailto}>",
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
