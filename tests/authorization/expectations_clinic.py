"""Who may use each clinic page and each accounts API operation (checked by the
authorization matrix test, tests/test_authorization_matrix.py).

Decisions:
- Every clinic page needs a signed-in person; integration tokens do not open HTML pages.
- The people pages are for staff. A patient gets 403 on all of them, whatever the id,
  so the answer tells them nothing about which ids exist.
- Inviting, role changes, suspending, clinic settings and API tokens are for the
  clinic's admins: other staff get 403.
- Administration is never a token's: a read-write token may invite coaches, therapists and
  researchers (the matrix invites a coach), but no token may invite an admin or a supervisor
  or change anyone's access (403; trellis/accounts/tests/test_api_accounts.py).
- A person outside the caller's reach (another clinic, a patient not on the caseload,
  any patient for a researcher) is 404, exactly like an id that does not exist.
- The invitation page is public: whoever holds the emailed link may open it.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    NOT_FOUND,
    Route,
    expect,
)
from trellis.accounts.models import ApiToken, Invitation, Role, TokenScope
from trellis.accounts.services.invitations import create_invitation
from trellis.accounts.services.tokens import create_api_token
from trellis.core import timeutil

_SIGNED_IN = expect(ALLOWED, anonymous=LOGIN, token_read=LOGIN, token_write=LOGIN)
_STAFF_ONLY = expect(
    ALLOWED,
    anonymous=LOGIN,
    token_read=LOGIN,
    token_write=LOGIN,
    patient=FORBIDDEN,
    other_clinic_patient=FORBIDDEN,
)
_ADMIN_ONLY = expect(FORBIDDEN, anonymous=LOGIN, token_read=LOGIN, token_write=LOGIN, admin=ALLOWED)
_MATRIX_INVITEE = "matrix.invitee@riverside.example"


def _membership(key: str) -> Any:
    return lambda cast: {"pk": cast.memberships[key].pk}


def _open_invitation(cast: Any) -> dict[str, Any]:
    now = timeutil.now()
    invitation = Invitation.objects.filter(
        email=_MATRIX_INVITEE, revoked_at__isnull=True, expires_at__gt=now
    ).first()
    if invitation is None:
        invitation, _token = create_invitation(
            organization=cast.clinics["riverside"],
            email=_MATRIX_INVITEE,
            role=Role.THERAPIST,
            actor=cast["admin_avery"],
            now=now,
        )
    return {"pk": invitation.pk}


def _invitation_link(cast: Any) -> dict[str, Any]:
    _invitation, token = create_invitation(
        organization=cast.clinics["riverside"],
        email=f"matrix-{uuid.uuid4().hex[:12]}@riverside.example",
        role=Role.COACH,
        actor=cast["admin_avery"],
        now=timeutil.now(),
    )
    return {"token": token}


def _api_token(cast: Any) -> dict[str, Any]:
    token = ApiToken.objects.filter(name="Matrix revocable token").first()
    if token is None:
        token, _secret = create_api_token(
            organization=cast.clinics["riverside"],
            name="Matrix revocable token",
            scope=TokenScope.READ,
            actor=cast["admin_avery"],
        )
    return {"pk": token.pk}


def _new_staff_invitation(cast: Any) -> dict[str, Any]:
    return {
        "email": f"api-{uuid.uuid4().hex[:12]}@riverside.example",
        "full_name": "Robin Matrix",
        "role": Role.COACH,
    }


ROUTES: list[Route] = [
    Route(
        "clinic:home",
        _SIGNED_IN,
        note="staff: a clinic overview; patients: a welcome with crisis resources",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "clinic:people", _STAFF_ONLY, note="everyone in the caller's reach", reads=NO_PATIENT_DATA
    ),
    Route(
        "clinic:person",
        expect(
            ALLOWED,
            anonymous=LOGIN,
            token_read=LOGIN,
            token_write=LOGIN,
            patient=FORBIDDEN,
            other_clinic_patient=FORBIDDEN,
            researcher=NOT_FOUND,
        ),
        kwargs=_membership("patient_blair"),
        note="a patient of the Anxiety team: researchers see no patient",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "clinic:person_role",
        _ADMIN_ONLY,
        method="POST",
        kwargs=_membership("therapist_sam"),
        data=lambda cast: {"role": Role.SUPERVISOR},
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "clinic:person_active",
        _ADMIN_ONLY,
        method="POST",
        kwargs=_membership("therapist_sam"),
        data=lambda cast: {"active": "0"},
        reads=NO_PATIENT_DATA,
    ),
    Route("clinic:invite", _ADMIN_ONLY, note="the invitation form", reads=NO_PATIENT_DATA),
    Route(
        "clinic:invitation_revoke",
        _ADMIN_ONLY,
        method="POST",
        kwargs=_open_invitation,
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "clinic:accept_invitation",
        expect(ALLOWED),
        kwargs=_invitation_link,
        note="public: holding the emailed link is what lets someone in",
        reads=NO_PATIENT_DATA,
    ),
    Route("clinic:settings", _ADMIN_ONLY, reads=NO_PATIENT_DATA),
    Route(
        "clinic:delivery_rates",
        _ADMIN_ONLY,
        note="counts of reminders per channel and template; names no patient",
        reads=NO_PATIENT_DATA,
    ),
    Route("clinic:tokens", _ADMIN_ONLY, reads=NO_PATIENT_DATA),
    Route(
        "clinic:token_revoke", _ADMIN_ONLY, method="POST", kwargs=_api_token, reads=NO_PATIENT_DATA
    ),
    # The JSON API (trellis/accounts/api.py).
    Route(
        "GET /api/v1/me",
        expect(ALLOWED, anonymous=LOGIN, token_read=FORBIDDEN, token_write=FORBIDDEN),
        note="a token is a clinic, not a person",
        reads=NO_PATIENT_DATA,
    ),
    Route("GET /api/v1/organizations", expect(ALLOWED, anonymous=LOGIN), reads=NO_PATIENT_DATA),
    Route("GET /api/v1/people", expect(ALLOWED, anonymous=LOGIN), reads=NO_PATIENT_DATA),
    Route(
        "GET /api/v1/people/{membership_id}",
        expect(
            ALLOWED,
            anonymous=LOGIN,
            patient=NOT_FOUND,
            other_clinic_patient=NOT_FOUND,
            researcher=NOT_FOUND,
        ),
        kwargs=lambda cast: {"membership_id": cast.memberships["patient_blair"].pk},
        note="another patient: only their care team, admins and the clinic's tokens",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "PATCH /api/v1/people/{membership_id}",
        expect(FORBIDDEN, anonymous=LOGIN, admin=ALLOWED),
        kwargs=lambda cast: {"membership_id": cast.memberships["therapist_sam"].pk},
        data=lambda cast: {"active": False},
        note="like the people pages: clinic admins only; no token changes anyone's access",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "GET /api/v1/invitations",
        expect(FORBIDDEN, anonymous=LOGIN, admin=ALLOWED, token_read=ALLOWED, token_write=ALLOWED),
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "POST /api/v1/invitations",
        expect(FORBIDDEN, anonymous=LOGIN, admin=ALLOWED, token_write=ALLOWED),
        data=_new_staff_invitation,
        note="read-only tokens are refused any write; no token invites an admin or supervisor",
        reads=NO_PATIENT_DATA,
    ),
]
