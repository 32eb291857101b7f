"""`{% safety_setup_gaps as gaps %}`: the safety set-up gaps an admin or supervisor can fix."""

from __future__ import annotations

from typing import Any

from django import template

from trellis.alerts import queries

register = template.Library()


@register.simple_tag(takes_context=True)
def safety_setup_gaps(context: Any) -> list[queries.SetupGap]:
    """Teams with no on-call clinician, and clinics with no supervisor, at the clinics where
    the signed-in person chooses on-call duty (nothing for anyone else)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return []
    cached = getattr(request, "_trellis_safety_gaps", None)
    if cached is None:
        orgs = queries.on_call_orgs_for(user)
        cached = queries.safety_setup_gaps(orgs) if orgs.exists() else []
        request._trellis_safety_gaps = cached
    return list(cached)
