"""Times in the reader's zone: every page shows times in the zone of the person reading it.

A patient reads in their own zone (their preferences), else their clinic's; a member of
staff in the zone on their account, else their clinic's. The zone is activated for the
whole request, so every `|date` and `|time` in a template shows it without asking.

The zone lives here, in care, because this is the lowest layer that knows both a patient's
preferences and a staff member's account. It is worked out once per session (two small
queries) and kept in the session beside what it was worked out from, so an ordinary page
costs no query for it; `forget_zone` drops it when a patient changes their preferences,
and a staff member's change of zone is noticed on the next request by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from trellis.accounts.models import STAFF_ROLES
from trellis.accounts.queries import active_memberships, is_signed_in
from trellis.care.models import Preferences
from trellis.core import timeutil

ZONE_KEY = "trellis_zone"


def viewer_zone_name(user: Any) -> str:
    """The IANA name of the zone `user` reads times in (two small queries at most)."""
    if not is_signed_in(user):
        return str(settings.TIME_ZONE)
    roles = list(
        active_memberships(user)
        .order_by("organization__name", "role")
        .values_list("role", "organization__time_zone")
    )
    clinic_zones = [zone for role, zone in roles if role in STAFF_ROLES]
    if clinic_zones or not roles:  # staff, or an operator with no clinic
        own = getattr(user, "time_zone", "")
    else:
        own = (
            Preferences.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
        )
        clinic_zones = [zone for _role, zone in roles]
    for name in (own, *clinic_zones, settings.TIME_ZONE):
        if name and timeutil.is_valid_zone(name):
            return str(name)
    return "UTC"


def viewer_zone(request: HttpRequest) -> ZoneInfo:
    """The reader's zone, from the session when it was already worked out for them."""
    user = request.user
    stamp = [str(user.pk), getattr(user, "time_zone", "")]
    session = getattr(request, "session", None)
    cached = session.get(ZONE_KEY) if session is not None else None
    if isinstance(cached, list) and len(cached) == 3 and cached[:2] == stamp:
        name = str(cached[2])
    else:
        name = viewer_zone_name(user)
        if session is not None:
            session[ZONE_KEY] = [*stamp, name]
    try:
        return timeutil.zone(name)
    except ValueError:
        return timeutil.UTC


def forget_zone(request: HttpRequest) -> None:
    """Work the reader's zone out afresh on the next request (their preferences changed)."""
    session = getattr(request, "session", None)
    if session is not None:
        session.pop(ZONE_KEY, None)


class ViewerZoneMiddleware:
    """Activates the signed-in reader's zone for the request (anonymous pages stay in the
    project's zone). Place it after authentication."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(viewer_zone(request))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
