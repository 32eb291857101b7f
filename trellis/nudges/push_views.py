"""Web push from the page's side: the public key a browser subscribes with, a patient's
device subscribing and unsubscribing, and the link a push notification opens.

Subscribing and unsubscribing are JSON posts from the patient's own signed-in page
(session and CSRF token, as every form): 201 for a new device, 200 for one already
theirs, 400 for a body that is not a subscription (with the field and the reason), 409
for a device another person holds (nothing changes). The key endpoint holds nothing
private. The notification's link needs no sign-in (a tap on a lock screen may come
before it): its signed token names the delivery, which is recorded opened once; the
page it goes on to asks for the sign-in as any page does.
"""

from __future__ import annotations

import json
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trellis.accounts.guards import require_patient
from trellis.core import timeutil
from trellis.core.errors import Conflict, error_list
from trellis.nudges import messages, push, services, webpush
from trellis.nudges.models import Channel, Delivery


def _not_signed_in() -> JsonResponse:
    message = _("Sign in to set up reminders on this device.")
    return JsonResponse({"errors": [{"field": "body", "message": message}]}, status=401)


def _refused(error: ValidationError, status: int) -> JsonResponse:
    return JsonResponse({"errors": error_list(error)}, status=status)


def _json_body(request: HttpRequest) -> Any:
    """The request's JSON body; ValidationError for anything else."""
    if len(request.body) > push.MAX_BODY_BYTES:
        raise ValidationError(_("The request is too large."))
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise ValidationError(_("Send the subscription as application/json."))
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(_("The request body is not valid JSON.")) from None


@never_cache
@require_GET
def public_key(request: HttpRequest) -> JsonResponse:
    """Trellis's VAPID public key, for PushManager.subscribe(); 404 while push is off."""
    try:
        keys = webpush.vapid_keys()
    except webpush.PushNotConfigured:
        return JsonResponse(
            {"errors": [{"field": "body", "message": _("Notifications are not set up here.")}]},
            status=404,
        )
    return JsonResponse({"publicKey": keys.public})


@never_cache
@require_POST
def subscribe(request: HttpRequest) -> JsonResponse:
    """Keep this device's push subscription for the signed-in patient."""
    if not request.user.is_authenticated:
        return _not_signed_in()
    user = require_patient(request)
    try:
        subscription = push.parse_subscription(_json_body(request))
    except ValidationError as error:
        return _refused(error, 400)
    try:
        row, created = push.subscribe(
            user,
            subscription,
            user_agent=request.headers.get("User-Agent", ""),
            at=timeutil.now(),
        )
    except Conflict as error:
        return _refused(error, 409)
    return JsonResponse({"id": str(row.pk), "new": created}, status=201 if created else 200)


@never_cache
@require_POST
def unsubscribe(request: HttpRequest) -> JsonResponse:
    """Forget this device for the signed-in patient; 404 if it is not one of theirs."""
    if not request.user.is_authenticated:
        return _not_signed_in()
    user = require_patient(request)
    try:
        body = _json_body(request)
    except ValidationError as error:
        return _refused(error, 400)
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return _refused(ValidationError({"endpoint": _("Name the endpoint to forget.")}), 400)
    if not push.unsubscribe(user, endpoint, at=timeutil.now()):
        return _refused(
            ValidationError({"endpoint": _("This device is not set up for your reminders.")}),
            404,
        )
    return JsonResponse({"removed": True})


@never_cache
@require_GET
def opened(request: HttpRequest, token: str) -> HttpResponse:
    """A push notification was tapped: record the nudge opened, then go where it leads."""
    try:
        delivery_id = webpush.read_opened_token(token)
    except signing.BadSignature:
        raise Http404("not a push link") from None
    delivery = (
        Delivery.objects.select_related("recipient", "organization")
        .filter(pk=delivery_id, channel=Channel.PUSH)
        .first()
    )
    if delivery is None:
        raise Http404("no such push")
    services.mark_opened(delivery, at=timeutil.now())
    try:
        target = messages.destination(delivery)
    except LookupError:
        target = "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
