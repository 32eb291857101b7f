"""Who may open a page or call an endpoint at all, by role: the one place views ask.

Each guard returns the signed-in person when their roles fit and raises PermissionDenied
(a plain 403 page, or a 403 in the API's error shape) otherwise. What a person may see
inside a page (which patient, which alert) is decided by the `access_*` reads of each app's
queries, which answer 404 for anything out of reach.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from trellis.accounts.models import CLINICAL_ROLES, STAFF_ROLES, Role, User
from trellis.accounts.queries import active_memberships

# Roles that work with alerts and a caseload: coaches, therapists and supervisors.
CLINICIANS = frozenset(CLINICAL_ROLES)


def _person(request: HttpRequest) -> User | None:
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_active else None


def holds_role(user: Any, roles: Iterable[str]) -> bool:
    """Holds one of `roles` at some clinic, in an active membership."""
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return active_memberships(user).filter(role__in=list(roles)).exists()


def require_role(request: HttpRequest, roles: Iterable[str], message: str | Promise) -> User:
    """The signed-in person if they hold one of `roles`; else 403 with `message`."""
    user = _person(request)
    if user is None or not holds_role(user, roles):
        raise PermissionDenied(message)
    return user


def require_patient(request: HttpRequest) -> User:
    """A patient's own pages: staff (and integration tokens) get a plain 403."""
    return require_role(request, (Role.PATIENT,), _("These pages are for patients."))


def require_staff(request: HttpRequest) -> User:
    """Pages for any member of a clinic's staff."""
    return require_role(request, STAFF_ROLES, _("This page is for clinic staff."))


def require_clinician(request: HttpRequest, message: str | Promise = "") -> User:
    """Pages for coaches, therapists and supervisors (the caseload, alerts)."""
    return require_role(
        request, CLINICIANS, message or _("This page is for the clinic's clinical staff.")
    )
