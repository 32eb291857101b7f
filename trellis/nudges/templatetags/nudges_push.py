"""`{% push_device %}`: the "Get reminders on this device" box, for a signed-in patient.

It renders nothing for anyone else. The box starts hidden and its script shows it only
where the browser can take push notifications and Trellis has a key to send them with,
so a page without JavaScript or push support looks as if it were not there.
"""

from __future__ import annotations

from typing import Any

from django import template

from trellis.accounts.guards import holds_role
from trellis.accounts.models import Role

register = template.Library()


@register.inclusion_tag("nudges/_push_device.html", takes_context=True)
def push_device(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"show": holds_role(user, (Role.PATIENT,)), "request": request}
