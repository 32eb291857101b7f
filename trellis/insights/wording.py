"""What insights says through the nudges channels: a clinic's model no longer fits."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from trellis.nudges import messages
from trellis.nudges.channels.base import Message
from trellis.nudges.models import Delivery


def build_model_drift(delivery: Delivery) -> Message:
    """To a clinic administrator, in Trellis only: the monthly check found the risk model's
    estimates no longer match what happened."""
    findings = [str(f) for f in delivery.context.get("findings", []) if f][:3]
    text = _(
        "The monthly check of your clinic's dropout-risk model found that its estimates no "
        "longer match what happened to patients. Supporters still see them; consider "
        "training the model again on your clinic's recent enrollments."
    )
    if findings:
        text += "\n\n" + "\n".join(f"- {f}" for f in findings)
    return Message(
        subject=_("The dropout-risk model needs a look"),
        text=text,
        html="",
        short=_("The dropout-risk model needs a look."),
        link=reverse("insights:model"),
    )


def register() -> None:
    messages.register("model_drift", build_model_drift)
