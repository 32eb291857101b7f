"""The main navigation: which links a person sees depends on their role."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from trellis.accounts import queries
from trellis.accounts.models import Role
from trellis.accounts.queries import Capability

register = template.Library()


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # a page another part of Trellis has not installed yet
        return ""


@register.simple_tag(takes_context=True)
def nav_links(context: Any) -> list[dict[str, Any]]:
    """Links for the signed-in person, each with `url`, `label` and `current`."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return []
    cached = getattr(request, "_trellis_nav", None)
    if cached is not None:
        return list(cached)
    roles = set(queries.active_memberships(user).values_list("role", flat=True))
    capabilities: set[Capability] = set()
    for role in roles:
        capabilities |= queries.ROLE_CAPABILITIES.get(role, frozenset())
    items = [("clinic:home", _("Home"))]
    if roles - {Role.PATIENT}:
        items.append(("clinic:people", _("People")))
    if Capability.MANAGE_TOKENS in capabilities:
        items.append(("clinic:tokens", _("API tokens")))
    if Capability.MANAGE_SETTINGS in capabilities:
        items.append(("clinic:settings", _("Clinic settings")))
    if Capability.VIEW_AUDIT in capabilities:
        items.append(("audit:events", _("Audit trail")))
    items.append(("accounts:security", _("My account")))
    links = []
    for name, label in items:
        url = _url(name)
        if not url:
            continue
        current = request.path == url or (url != "/" and request.path.startswith(url))
        links.append({"url": url, "label": label, "current": current})
    request._trellis_nav = links
    return list(links)
