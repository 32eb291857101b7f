"""Who may use the notification pages, a nudge's link and unsubscribe (checked by
tests/test_authorization_matrix.py).

Decisions:
- "Notifications" (notifications/) is every signed-in person's own list: anyone signed
  in may see theirs, patient or staff; nobody sees anyone else's. Marking all read only
  touches the caller's own, and so does resuming paused reminders (an unsubscribe or a
  failed address of the caller's own; with nothing paused it changes nothing).
- Marking one notification read and opening a nudge's link name patient_alex's own
  notification and delivery: only he may; for everyone else it looks like nothing (404).
- The API (api/v1/notifications) follows the pages: a signed-in person's own list and
  marks; integration tokens get 403 (notifications are a person's, not a clinic's).
- Unsubscribe needs no sign-in: the signed token in the e-mail's link is the proof. A GET
  shows the confirmation page, a POST (RFC 8058 one-click, declared here) stops e-mails:
  both answer anyone holding the link (API tokens mean nothing to it). The GET is tested
  in trellis/nudges/tests/test_email.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
from trellis.journey.tests.factories import enroll_alex
from trellis.nudges import dispatch, services, tokens
from trellis.nudges.models import Delivery

_NO_HTML = {"anonymous": LOGIN, "token_read": LOGIN, "token_write": LOGIN}
_SIGNED_IN = expect(ALLOWED, **_NO_HTML)
_ALEX_ONLY = expect(NOT_FOUND, **_NO_HTML, patient=ALLOWED)
_ANYONE = expect(ALLOWED)
_API_NO_TOKENS = {"anonymous": LOGIN, "token_read": FORBIDDEN, "token_write": FORBIDDEN}
_API_SIGNED_IN = expect(ALLOWED, **_API_NO_TOKENS)
_API_ALEX_ONLY = expect(NOT_FOUND, **_API_NO_TOKENS, patient=ALLOWED)
API = "/api/v1/notifications"

AT = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York, inside allowed hours


def _alex_nudge(cast: Any) -> Delivery:
    enrollment = enroll_alex(cast, now=AT)
    [row] = services.queue_nudge(
        recipient=cast["patient_alex"],
        organization=enrollment.organization,
        template="message_waiting",
        context={},
        key="matrix:alex",
        enrollment=enrollment,
        channels=["in_app"],
        not_before=AT,
        transactional=True,
    )
    return dispatch.deliver(row.pk, now=AT)


def _delivery(cast: Any) -> dict[str, Any]:
    return {"pk": _alex_nudge(cast).pk}


def _notification(cast: Any) -> dict[str, Any]:
    return {"pk": _alex_nudge(cast).notification.pk}


def _token(cast: Any) -> dict[str, Any]:
    return {"token": tokens.unsubscribe_token(cast["patient_alex"].pk)}


def _email_channel(cast: Any) -> dict[str, Any]:
    return {"channel": "email"}


def _one_click(cast: Any) -> dict[str, Any]:
    return {"List-Unsubscribe": "One-Click"}


ROUTES: list[Route] = [
    Route("nudges:notifications", _SIGNED_IN, reads=NO_PATIENT_DATA),
    Route("nudges:mark_all_read", _SIGNED_IN, method="POST", reads=NO_PATIENT_DATA),
    Route(
        "nudges:resume",
        _SIGNED_IN,
        method="POST",
        data=_email_channel,
        reads=NO_PATIENT_DATA,
        note="lifts only the caller's own unsubscribe or failed address",
    ),
    Route(
        "nudges:mark_read", _ALEX_ONLY, method="POST", kwargs=_notification, reads=NO_PATIENT_DATA
    ),
    Route("nudges:open", _ALEX_ONLY, kwargs=_delivery, reads=NO_PATIENT_DATA),
    Route(
        "nudges:unsubscribe",
        _ANYONE,
        method="POST",
        kwargs=_token,
        data=_one_click,
        reads=NO_PATIENT_DATA,
        note="RFC 8058 one-click: no sign-in, no CSRF cookie",
    ),
    Route(f"GET {API}", _API_SIGNED_IN, reads=NO_PATIENT_DATA),
    Route(f"POST {API}/read", _API_SIGNED_IN, reads=NO_PATIENT_DATA),
    Route(
        f"POST {API}/{{notification_id}}/read",
        _API_ALEX_ONLY,
        kwargs=lambda cast: {"notification_id": _notification(cast)["pk"]},
        reads=NO_PATIENT_DATA,
    ),
]
