"""The one interface every channel speaks: a Message goes in, an Outcome comes out.

A channel only talks to the outside world (an SMTP server, an SMS provider, a push
service, the notifications table). Deciding whether to send, retrying and recording the
outcome belong to `trellis.nudges.dispatch` and `trellis.nudges.services`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from trellis.nudges.models import Delivery

OutcomeStatus = Literal["sent", "delivered", "temporary", "permanent"]


@dataclass(frozen=True)
class Message:
    """What a channel sends. `subject` and `short` never carry health details: the subject
    shows in an inbox list, `short` is the whole of an SMS or a lock-screen push."""

    subject: str
    text: str
    html: str
    short: str
    link: str


@dataclass(frozen=True)
class Outcome:
    """What a channel answers.

    sent: handed over (SMTP accepted, provider queued it); delivered: it reached the person
    (an in-app notification, a provider's delivery receipt); temporary: try again later
    (`retry_after` seconds if the provider said so); permanent: this address does not work.
    """

    status: OutcomeStatus
    provider_id: str = ""
    reason: str = ""
    retry_after: float | None = None


class Sender(Protocol):
    """A channel: `send` must not raise for a failure of the outside world; it answers an
    Outcome instead (an unexpected exception is treated as a temporary failure)."""

    channel: str

    def send(self, delivery: Delivery, message: Message) -> Outcome: ...
