"""Who may send referrals and who may use the referrals page (trellis/interop/referral_urls.py,
trellis/interop/referral_page_urls.py; docs/referrals.md).

Decisions:
- `POST /fhir/R4/Bundle` answers only a backend client's access token (interop.caller):
  a signed-in person, an integration API token or nobody at all get 401 with a Bearer
  challenge. A client without `may_refer` or the write scope gets 403
  (trellis/interop/tests/test_referrals_fhir.py).
- The referrals page, the upload and the settings are for the clinic's admins (they manage
  people, and referrals make patient invitations); other staff and patients get 403. HTML
  pages are for people: a token is the anonymous visitor.
- The page names no patient: identifiers are masked, and it shows no program, level or
  score (NO_PATIENT_DATA). An upload's summary shows only what the admin just sent.
"""

from __future__ import annotations

from typing import Any

from tests.authorization.matrix import (
    ALLOWED,
    FORBIDDEN,
    LOGIN,
    NO_PATIENT_DATA,
    Route,
    expect,
)
from trellis.care.models import SupportLevel

_ADMIN_ONLY = expect(FORBIDDEN, anonymous=LOGIN, token_read=LOGIN, token_write=LOGIN, admin=ALLOWED)


def _settings(cast: Any) -> dict[str, Any]:
    return {
        "inviter": str(cast["therapist_maria"].pk),
        "default_support_level": SupportLevel.SELF_GUIDED,
    }


ROUTES = [
    Route(
        "fhir_referrals:bundle",
        expect(LOGIN),
        method="POST",
        note="only a backend client's access token; everyone else 401",
        reads=NO_PATIENT_DATA,
    ),
    Route("referrals:page", _ADMIN_ONLY, reads=NO_PATIENT_DATA),
    Route(
        "referrals:upload",
        _ADMIN_ONLY,
        method="POST",
        note="no file: 400 for the admin",
        reads=NO_PATIENT_DATA,
    ),
    Route("referrals:settings", _ADMIN_ONLY, method="POST", data=_settings, reads=NO_PATIENT_DATA),
]
