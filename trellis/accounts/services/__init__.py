"""Every write about people, clinics and sign-in. One module per job; import from here."""

from trellis.accounts.services.mfa import enroll_totp
from trellis.accounts.services.people import (
    change_role,
    create_organization,
    create_person,
    create_team,
    set_membership_active,
)

__all__ = [
    "enroll_totp",
    "change_role",
    "create_organization",
    "create_person",
    "create_team",
    "set_membership_active",
]
