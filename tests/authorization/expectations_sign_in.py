"""Who may open the sign-in pages (checked by tests/test_authorization_matrix.py).

Signing in and resetting a password must work for anyone; a signed-in visitor to the
sign-in page is sent on to their home page, which counts as allowed. Pages about one's
own account need a signed-in person; bearer tokens are not people and get the sign-in
page like an anonymous visitor. Staff must keep two-step verification, so the page to
turn it off is forbidden to them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    PATIENTS,
    STAFF,
    Route,
    expect,
)

OWN_ACCOUNT = expect(ALLOWED, anonymous=LOGIN, token_read=LOGIN, token_write=LOGIN)


def _reset_link(cast: Any) -> dict[str, Any]:
    # patient_blair is never signed in by the matrix, so the token stays valid.
    user = cast["patient_blair"]
    return {
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }


ROUTES: list[Route] = [
    Route(
        "accounts:login",
        expect(ALLOWED),
        note="signed-in visitors are sent home",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "accounts:logout",
        expect(ALLOWED),
        note="GET asks to confirm; POST signs out",
        reads=NO_PATIENT_DATA,
    ),
    Route("accounts:password_reset", expect(ALLOWED), reads=NO_PATIENT_DATA),
    Route("accounts:password_reset_sent", expect(ALLOWED), reads=NO_PATIENT_DATA),
    Route("accounts:password_reset_complete", expect(ALLOWED), reads=NO_PATIENT_DATA),
    Route(
        "accounts:password_reset_confirm",
        expect(ALLOWED),
        kwargs=_reset_link,
        note="the emailed token is the credential",
        reads=NO_PATIENT_DATA,
    ),
    Route("accounts:security", OWN_ACCOUNT, reads=NO_PATIENT_DATA),
    Route("accounts:password_change", OWN_ACCOUNT, reads=NO_PATIENT_DATA),
    Route(
        "accounts:language",
        expect(ALLOWED),
        note="anyone may choose a language; a signed-in person's choice is saved",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "accounts:time_zone",
        expect(
            ALLOWED,
            anonymous=LOGIN,
            token_read=LOGIN,
            token_write=LOGIN,
            **dict.fromkeys(PATIENTS, FORBIDDEN),
        ),
        method="POST",
        data=lambda cast: {"time_zone": "Europe/Helsinki"},
        note="staff only; a patient's times follow their preferences",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "accounts:mfa_setup",
        OWN_ACCOUNT,
        note="staff who already have a device see that two-step verification is on",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "accounts:mfa_verify",
        OWN_ACCOUNT,
        note="already verified: sent on to next/home",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "accounts:mfa_recovery_codes",
        OWN_ACCOUNT,
        note="patients without two-step verification are sent to My account",
        reads=NO_PATIENT_DATA,
    ),
    Route(
        "accounts:mfa_disable",
        expect(
            ALLOWED,
            anonymous=LOGIN,
            token_read=LOGIN,
            token_write=LOGIN,
            **dict.fromkeys(STAFF, FORBIDDEN),
        ),
        note="patients only; staff must keep two-step verification",
        reads=NO_PATIENT_DATA,
    ),
]
