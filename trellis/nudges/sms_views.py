"""The SMS provider's calls into Trellis, and the one-tap answer page of a session reminder.

Provider callbacks (delivery status, inbound texts) carry no session or CSRF token: they are
authenticated by the provider's signature instead (`X-Twilio-Signature`: base64 HMAC-SHA1,
keyed with the account's auth token, of the full URL followed by each POST parameter's name
and value sorted by name). A missing or wrong signature is 403, a signed request without the
fields it needs is 400; neither changes anything. The provider may post the same callback
again: it changes nothing the second time.

The answer page (`answer`) opens from the link in a reminder, without signing in: the link
holds a signed token naming the session at its current time. The page asks before it acts
(a phone's link preview must not confirm or cancel anything): confirm and cancel are done
there; "another time" records the request and leads to the page to choose one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from xml.sax.saxutils import escape

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from trellis.accounts.language import language_for
from trellis.appointments import services as sessions
from trellis.appointments.models import Appointment, AppointmentStatus
from trellis.core import timeutil
from trellis.nudges import appointment_reminders, replies, services
from trellis.nudges.channels import sms
from trellis.nudges.models import Channel

logger = logging.getLogger(__name__)

_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "read",
        "receiving",
        "received",
        "canceled",
        "partially_delivered",
    }
)
_ERROR_CODE = re.compile(r"^[0-9]{0,6}$")
_NUMBER = re.compile(r"^\+?[0-9A-Za-z]{3,20}$")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def expected_signature(token: str, url: str, request: HttpRequest) -> str:
    signed = url + "".join(
        name + value for name in sorted(request.POST) for value in request.POST.getlist(name)
    )
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_by_provider(request: HttpRequest) -> bool:
    """Whether the request carries the provider's valid signature for the URL it was sent
    to (as configured, TRELLIS_BASE_URL + path; or as this request arrived)."""
    config = sms.sms_settings()
    given = request.headers.get(sms.SIGNATURE_HEADER, "")
    if config is None or not given:
        return False
    if request.content_type != "application/x-www-form-urlencoded":
        return False
    urls = {
        settings.TRELLIS_BASE_URL.rstrip("/") + request.get_full_path(),
        request.build_absolute_uri(),
    }
    return any(
        hmac.compare_digest(expected_signature(config.token, url, request), given) for url in urls
    )


def _refused(status: int, why: str) -> HttpResponse:
    return HttpResponse(why, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def status_callback(request: HttpRequest) -> HttpResponse:
    """The provider tells how a text fared: delivered, or undelivered and why."""
    if not signed_by_provider(request):
        return _refused(403, "Signature missing or not valid.")
    sid = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus", "").strip().lower()
    error_code = request.POST.get("ErrorCode", "")
    if not _SID.match(sid) or status not in _STATUSES or not _ERROR_CODE.match(error_code):
        return _refused(400, "MessageSid, MessageStatus or ErrorCode is missing or malformed.")
    mapped = sms.delivery_status(status, error_code)
    if mapped is not None:
        services.record_provider_status(
            channel=Channel.SMS,
            provider_id=sid,
            status=mapped[0],
            reason=mapped[1],
            at=timeutil.now(),
        )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """A text to the clinic's number; answered with the provider's reply format (TwiML)."""
    if not signed_by_provider(request):
        return _refused(403, "Signature missing or not valid.")
    config = sms.sms_settings()
    sid = request.POST.get("MessageSid", "")
    sender = request.POST.get("From", "").strip()
    body = request.POST.get("Body")
    account = request.POST.get("AccountSid", "")
    if (
        not _SID.match(sid)
        or not _NUMBER.match(sender)
        or body is None
        or len(body) > 1600
        or (config is not None and account != config.account)
    ):
        return _refused(400, "MessageSid, From, Body or AccountSid is missing or malformed.")
    answer = replies.receive_text(provider_id=sid, from_number=sender, body=body, at=timeutil.now())
    if answer is None or not answer.text:
        return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")
    return HttpResponse(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        f"{escape(answer.text)}</Message></Response>",
        content_type="text/xml; charset=utf-8",
    )


# The one-tap answer page ----------------------------------------------------------------

ACTIONS = ("confirm", "another_time", "cancel")


def _session_of(token: str) -> Appointment | None:
    try:
        appointment_id, sequence = appointment_reminders.read_answer_token(token)
    except signing.BadSignature:
        return None
    appointment = (
        Appointment.objects.select_related(
            "enrollment__organization", "enrollment__patient", "supporter"
        )
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or appointment.ical_sequence != sequence:
        # Moved or cancelled since the reminder: the link no longer speaks for it.
        return appointment if appointment and appointment.status != "booked" else None
    return appointment


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm, ask for another time or cancel a session from the reminder's link."""
    appointment = _session_of(token)
    if appointment is None:
        return render(request, "nudges/session_answer_gone.html", status=404)
    patient = appointment.enrollment.patient
    with translation.override(language_for(patient, appointment.enrollment.organization.locale)):
        context = {
            "appointment": appointment,
            "when": appointment_reminders.when_words(appointment),
            "token": token,
            "problem": "",
            "done": "",
        }
        now = timeutil.now()
        if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at <= now:
            context["problem"] = _("This session is no longer booked, so there is nothing to do.")
            return render(request, "nudges/session_answer.html", context, status=410)
        if request.method == "GET":
            return render(request, "nudges/session_answer.html", context)
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            context["problem"] = _("Choose one of the answers below.")
            return render(request, "nudges/session_answer.html", context, status=400)
        try:
            if action == "confirm":
                sessions.confirm_by_patient(appointment, actor=patient, via="link", now=now)
                context["done"] = _("Thank you. Your session is confirmed.")
            elif action == "another_time":
                before = appointment.another_time_requested_at
                asked = sessions.ask_for_another_time(
                    appointment, actor=patient, via="link", now=now
                )
                if before is None:
                    appointment_reminders.tell_supporter_another_time(asked, at=now)
                return HttpResponseRedirect(reverse("sessions:reschedule", args=[appointment.pk]))
            else:
                sessions.cancel(
                    appointment, actor=patient, reason=_("Cancelled from a reminder"), now=now
                )
                context["done"] = _("Your session is cancelled.")
        except (ValidationError, PermissionDenied) as refusal:
            context["problem"] = " ".join(getattr(refusal, "messages", None) or [str(refusal)])
            return render(request, "nudges/session_answer.html", context, status=400)
        return render(request, "nudges/session_answer.html", context)
