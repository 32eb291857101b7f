"""What the patient is told in Trellis when their amendment request is decided. It never
names what the request was about (a notification may be seen over a shoulder); the record
page says the rest."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from trellis.interop.models import AmendmentStatus
from trellis.nudges import messages
from trellis.nudges.channels.base import Message
from trellis.nudges.models import Delivery


def build_amendment_decided(delivery: Delivery) -> Message:
    """To a patient, in Trellis only: their care team answered a request for a correction."""
    accepted = delivery.context.get("status") == AmendmentStatus.ACCEPTED
    short = (
        _("Your care team accepted your request to correct your record.")
        if accepted
        else _("Your care team answered your request to correct your record.")
    )
    text = short + "\n\n" + _("You can read their answer on My record.")
    return Message(
        subject=_("An answer about your record"),
        text=text,
        html="",
        short=short,
        link=reverse("record:mine"),
    )


def register() -> None:
    messages.register("amendment_decided", build_amendment_decided)
