"""Who may reach each audit page and API operation (checked by the authorization matrix)."""

from __future__ import annotations

from tests.authorization.matrix import ALLOWED, FORBIDDEN, LOGIN, NO_PATIENT_DATA, Route, expect

# The trail is for a clinic's admins and supervisors; everyone else signed in is refused.
_HTML = expect(
    FORBIDDEN,
    anonymous=LOGIN,
    token_read=LOGIN,
    token_write=LOGIN,
    supervisor=ALLOWED,
    admin=ALLOWED,
)

ROUTES: list[Route] = [
    Route(
        "audit:events", _HTML, note="clinic audit trail, filtered and paged", reads=NO_PATIENT_DATA
    ),
    Route("audit:export", _HTML, note="CSV export of the filtered trail", reads=NO_PATIENT_DATA),
    Route(
        "GET /api/v1/audit/events",
        expect(FORBIDDEN, anonymous=LOGIN, supervisor=ALLOWED, admin=ALLOWED),
        note="tokens are refused: the trail is not an integration feed",
        reads=NO_PATIENT_DATA,
    ),
]
