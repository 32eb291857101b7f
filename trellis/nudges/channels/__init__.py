"""The channels a nudge can travel by, each behind the same Sender interface.

Every channel module is imported here by name, one line each (no discovery by string,
no plugin loading), and is registered under the channel it names: a module called like a
`Channel` value (email, sms, push, in_app) whose `sender` speaks for it. A reader sees
every way Trellis reaches a person in the import lines below.
"""

from __future__ import annotations

from types import ModuleType

from trellis.nudges.channels import email, in_app
from trellis.nudges.channels import push as push
from trellis.nudges.channels import sms as sms
from trellis.nudges.channels.base import Message, Outcome, Sender
from trellis.nudges.models import Channel

__all__ = ["Message", "Outcome", "Sender", "sender_for", "senders"]

# One line per channel above; this module maps each imported channel module to its name.
_IMPORTED = (email, in_app)


def senders() -> dict[str, Sender]:
    """Every channel Trellis can send through, by its name."""
    modules: dict[str, ModuleType] = {
        module.__name__.rsplit(".", 1)[-1]: module for module in _IMPORTED
    }
    for name in Channel.values:
        module = globals().get(name)
        if isinstance(module, ModuleType):
            modules[name] = module
    found: dict[str, Sender] = {}
    for name, module in modules.items():
        sender: Sender = module.sender
        assert sender.channel == name, f"channel module {name} sends as {sender.channel}"
        found[name] = sender
    return found


def sender_for(channel: str) -> Sender:
    """The sender for a channel name; KeyError for a channel Trellis does not have."""
    try:
        return senders()[channel]
    except KeyError:
        raise KeyError(f"no sender for channel {channel!r}") from None
