"""The pages of nudges: a person's notifications, opening a nudge's link, and the
one-click unsubscribe of an e-mail (RFC 8058).

The notifications page is for anyone signed in and shows only their own notifications,
and the reminders they paused, with a button to resume those they may lift themselves.
Opening a nudge (/n/<delivery>/) is for the person it was sent to: it records the nudge
opened and goes on to where the nudge leads. Unsubscribing needs no sign-in: the signed
token in the link names the person; a GET shows a page to confirm, a POST (the mail
program's one-click, or the page's button) stops the e-mails. That POST alone is exempt
from the CSRF check: a mail program posting `List-Unsubscribe=One-Click` has no cookie,
and the signed token is what proves the request.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trellis.core import timeutil
from trellis.nudges import messages as nudge_messages
from trellis.nudges import queries, services, tokens
from trellis.nudges.models import Channel


def _notifications_page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    rows = queries.notifications_for(request.user)
    return render(
        request,
        "nudges/notifications.html",
        {
            "notifications": rows,
            "unread": sum(1 for n in rows if n.read_at is None),
            "paused": queries.paused_for(request.user),
            "resumable": services.RESUMABLE_REASONS,
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The signed-in person's notifications, newest first, unread ones marked; above them,
    any reminders they paused (a STOP, an unsubscribe, an address that failed)."""
    return _notifications_page(request)


@login_required
@require_POST
def resume(request: HttpRequest) -> HttpResponse:
    """Reminders on a channel again, at the person's own request."""
    try:
        lifted = services.resume(
            request.user,  # type: ignore[arg-type]
            channel=request.POST.get("channel", ""),
            at=timeutil.now(),
        )
    except ValueError:
        messages.error(request, _("Choose one of the paused reminders listed."))
        return _notifications_page(request, status=400)
    if lifted:
        messages.success(request, _("Reminders on that channel will reach you again."))
    return redirect("nudges:notifications")


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: str) -> HttpResponse:
    notification = queries.access_notification(request.user, pk)
    services.mark_read(notification, at=timeutil.now())
    return redirect("nudges:notifications")


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.mark_all_read(request.user, at=timeutil.now())
    if count:
        messages.success(request, _("All notifications are marked as read."))
    return redirect("nudges:notifications")


@never_cache
@login_required
@require_GET
def open_nudge(request: HttpRequest, pk: str) -> HttpResponse:
    """A nudge's link: record it opened, then go where it leads."""
    delivery = queries.access_own_delivery(request.user, pk)
    services.mark_opened(delivery, at=timeutil.now())
    try:
        target = nudge_messages.destination(delivery)
    except LookupError:
        target = "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page to confirm stopping the e-mails. POST: stop them (RFC 8058 one-click)."""
    try:
        user_id, channel = tokens.read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "nudges/unsubscribe_invalid.html", status=400)
    if channel not in Channel.values:
        return render(request, "nudges/unsubscribe_invalid.html", status=400)
    if request.method == "GET":
        return render(
            request, "nudges/unsubscribe.html", {"token": token, "channel": Channel(channel).label}
        )
    block = services.unsubscribe(user_id, channel=channel, at=timeutil.now())
    if block is None:
        return render(request, "nudges/unsubscribe_invalid.html", status=400)
    return render(request, "nudges/unsubscribed.html", {"channel": Channel(channel).label})
