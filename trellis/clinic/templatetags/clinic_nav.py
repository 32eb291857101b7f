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
from trellis.nudges import queries as nudges_queries

register = template.Library()


def _owes_mfa(request: Any) -> bool:
    """Signed in with a password but not yet past the second step that is required."""

    user = request.user
    return not user.is_verified() and (staff_flag(request) or user.mfa_opt_in)


# The places a patient goes most, in the order of the phone's tab bar; the rest of their
# menu sits behind "More" (the last tab).
PATIENT_TABS = ("journey:today", "journey:story", "journey:mood", "messaging:mine")


@register.simple_tag(takes_context=True)
def nav_links(context: Any) -> list[dict[str, Any]]:
    """Links for the signed-in person, each with `url`, `label`, `current`, `name` (the URL
    name, which picks the tab bar's icon), `short` (the label without a count) and `count`
    (unread messages or urgent alerts, else 0)."""
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
    counts: dict[str, int] = {}
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
        items.append(("record:mine", _("My record")))

        unread = unread_count(user)
        counts["messaging:mine"] = unread
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
        counts["alerts:inbox"] = urgent
        label = _("Alerts (%(count)s urgent)") % {"count": urgent} if urgent else _("Alerts")
        items.append(("alerts:inbox", label))
    if Capability.MANAGE_TOKENS in capabilities:
        items.append(("clinic:tokens", _("API tokens")))
    if Capability.MANAGE_SETTINGS in capabilities:
        items.append(("clinic:settings", _("Clinic settings")))
    if Capability.VIEW_AUDIT in capabilities:
        items.append(("audit:events", _("Audit trail")))
    # In-app notifications (a patient's reminders; a supporter's digest, or a patient who
    # cannot be reached): under "More" on a patient's phone.
    notices = nudges_queries.unread_count(user)
    counts["nudges:notifications"] = notices
    items.append(
        (
            "nudges:notifications",
            _("Notifications (%(count)s new)") % {"count": notices}
            if notices
            else _("Notifications"),
        )
    )
    items.append(("accounts:security", _("My account")))
    short = {
        "messaging:mine": _("Messages"),
        "alerts:inbox": _("Alerts"),
        "nudges:notifications": _("Notifications"),
    }
    links = []
    for name, label in items:
        url = reverse(name)
        current = request.path == url or (url != "/" and request.path.startswith(url))
        links.append(
            {
                "url": url,
                "label": label,
                "current": current,
                "name": name,
                "short": short.get(name, label),
                "count": counts.get(name, 0),
            }
        )
    request._trellis_nav = links
    request._trellis_patient_only = roles == {Role.PATIENT}
    return list(links)


@register.simple_tag(takes_context=True)
def patient_tabs(context: Any) -> dict[str, Any] | None:
    """The phone's tab bar for someone who is only a patient: `tabs` (the places they go
    most, in PATIENT_TABS order), `more` (the rest of their menu) and `more_current` (the
    page is one of the rest), `more_count` (what is new behind "More"). None for staff and
    for anyone without a menu."""
    links = nav_links(context)
    if not links or not getattr(context.get("request"), "_trellis_patient_only", False):
        return None
    by_name = {link["name"]: link for link in links}
    tabs = [by_name[name] for name in PATIENT_TABS if name in by_name]
    more = [link for link in links if link["name"] not in PATIENT_TABS]
    return {
        "tabs": tabs,
        "more": more,
        "more_current": any(link["current"] for link in more),
        # Unread notifications sit under "More": the tab shows their count too.
        "more_count": sum(link["count"] for link in more),
    }
