"""The main navigation: which links a person sees depends on their role."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from trellis.accounts import queries
from trellis.accounts.middleware import staff_flag
from trellis.accounts.models import CLINICAL_ROLES, Role
from trellis.accounts.queries import Capability
from trellis.alerts.queries import open_urgent_count
from trellis.care.queries import current_enrollment
from trellis.messaging.queries import unread_count

register = template.Library()


def _owes_mfa(request: Any) -> bool:
    """Signed in with a password but not yet past the second step that is required."""

    user = request.user
    return not user.is_verified() and (staff_flag(request) or user.mfa_opt_in)


@register.simple_tag(takes_context=True)
def nav_links(context: Any) -> list[dict[str, Any]]:
    """Links for the signed-in person, each with `url`, `label` and `current`."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated or _owes_mfa(request):
        return []
    cached = getattr(request, "_trellis_nav", None)
    if cached is not None:
        return list(cached)
    roles = set(queries.active_memberships(user).values_list("role", flat=True))
    capabilities: set[Capability] = set()
    for role in roles:
        capabilities |= queries.ROLE_CAPABILITIES.get(role, frozenset())
    items = [("clinic:home", _("Home"))]
    if roles == {Role.PATIENT}:
        # A patient's own pages (the journey app); "/" is Today once they are in a program.
        items = [] if current_enrollment(user) is not None else items
        items += [
            ("journey:today", _("Today")),
            ("journey:journal", _("Journal")),
            ("journey:mood", _("Mood")),
            ("journey:story", _("My story")),
            ("measures:progress", _("My progress")),
        ]
        items.append(("sessions:mine", _("Sessions")))

        unread = unread_count(user)
        items.append(
            (
                "messaging:mine",
                _("Messages (%(count)s new)") % {"count": unread} if unread else _("Messages"),
            )
        )
    if roles - {Role.PATIENT}:
        items.append(("clinic:people", _("People")))
    if roles & CLINICAL_ROLES:
        items.append(("caseload:list", _("Caseload")))
    if roles & CLINICAL_ROLES:
        items.append(("sessions:clinic", _("Sessions")))
    if roles & (CLINICAL_ROLES | {Role.ADMIN}):
        urgent = open_urgent_count(user)
        label = _("Alerts (%(count)s urgent)") % {"count": urgent} if urgent else _("Alerts")
        items.append(("alerts:inbox", label))
    if Capability.MANAGE_TOKENS in capabilities:
        items.append(("clinic:tokens", _("API tokens")))
    if Capability.MANAGE_SETTINGS in capabilities:
        items.append(("clinic:settings", _("Clinic settings")))
    if Capability.VIEW_AUDIT in capabilities:
        items.append(("audit:events", _("Audit trail")))
    items.append(("accounts:security", _("My account")))
    links = []
    for name, label in items:
        url = reverse(name)
        current = request.path == url or (url != "/" and request.path.startswith(url))
        links.append({"url": url, "label": label, "current": current})
    request._trellis_nav = links
    return list(links)
