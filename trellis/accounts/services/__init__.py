"""Every write about people, clinics and sign-in. One module per job; import from here."""

from trellis.accounts.services.auth import (
    SignInResult,
    change_password,
    record_throttled,
    record_wrong_secret,
    request_password_reset,
    reset_password,
    sign_out,
)
from trellis.accounts.services.clinic import update_clinic_settings
from trellis.accounts.services.invitations import (
    accept_invitation,
    create_invitation,
    revoke_invitation,
)
from trellis.accounts.services.mfa import (
    CodeCheck,
    Enrollment,
    check_code,
    complete_second_step,
    confirm_totp,
    disable_mfa,
    enroll_totp,
    regenerate_recovery_codes,
)
from trellis.accounts.services.people import (
    change_role,
    create_organization,
    create_person,
    create_team,
    set_membership_active,
)
from trellis.accounts.services.tokens import create_api_token, note_token_use, revoke_api_token

__all__ = [
    "CodeCheck",
    "Enrollment",
    "SignInResult",
    "accept_invitation",
    "change_password",
    "change_role",
    "check_code",
    "complete_second_step",
    "confirm_totp",
    "create_api_token",
    "create_invitation",
    "create_organization",
    "create_person",
    "create_team",
    "disable_mfa",
    "enroll_totp",
    "note_token_use",
    "record_throttled",
    "record_wrong_secret",
    "regenerate_recovery_codes",
    "request_password_reset",
    "reset_password",
    "revoke_api_token",
    "revoke_invitation",
    "set_membership_active",
    "sign_out",
    "update_clinic_settings",
]
