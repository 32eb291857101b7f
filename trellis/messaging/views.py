"""The message pages: the patient's conversation with their care team, and the care team's
view of one patient's thread with reply templates.

Both pages are plain HTML forms; choosing a template is a link (`?template=KEY`) that
draws the page again with the filled template in the reply box, so nothing needs
JavaScript. Opening a thread gives the other side's messages a read receipt.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from trellis.accounts import guards
from trellis.accounts.models import User
from trellis.care.guards import send_to_onboarding
from trellis.care.models import Enrollment
from trellis.care.queries import access_enrollment, current_enrollment, supporters_of
from trellis.core import timeutil
from trellis.messaging import placeholders, queries, services
from trellis.messaging.forms import MessageForm, ReplyForm
from trellis.messaging.models import Gesture


def _send(form: Any, enrollment: Enrollment, user: User) -> bool:
    """Hand a valid form to the service; its refusals appear next to the field."""
    if not form.is_valid():
        return False
    extra: dict[str, Any] = {}
    if isinstance(form, ReplyForm):
        key = form.cleaned_data.get("template_key") or ""
        extra = {
            # Only a template the clinic offers is remembered against the message.
            "template_key": key if queries.template(enrollment.organization, key) else "",
            "support_minutes": form.cleaned_data.get("support_minutes"),
        }
    try:
        services.send_message(
            enrollment,
            sender=user,
            body=form.cleaned_data["body"],
            client_id=form.cleaned_data["client_id"],
            now=timeutil.now(),
            **extra,
        )
    except ValidationError as problem:
        form.add_service_errors(problem)
        return False
    return True


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@send_to_onboarding
def mine(request: HttpRequest) -> HttpResponse:
    """The patient's messages with their care team, and a form to write a new one."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return render(request, "messaging/no_program.html", {})
    status = 200
    form = MessageForm()
    if request.method == "POST":
        form = MessageForm(request.POST)
        if _send(form, enrollment, user):
            messages.success(request, _("Your message is sent."))
            return redirect("messaging:mine")
        status = 400
    services.mark_read(enrollment, reader=user, now=timeutil.now())
    return render(
        request,
        "messaging/mine.html",
        {
            "form": form,
            "thread": queries.messages_of(enrollment),
            "enrollment": enrollment,
            "reply_days": queries.reply_promise(enrollment.organization),
            "care_team": [m.supporter for m in supporters_of(enrollment)],
        },
        status=status,
    )


def _gestures(templates: list[Any]) -> list[dict[str, Any]]:
    """Templates grouped under their gesture, in the order the gestures are listed."""
    groups = []
    for value, label in Gesture.choices:
        chosen = [t for t in templates if t.gesture == value]
        if chosen:
            groups.append({"label": label, "templates": chosen})
    return groups


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def thread(request: HttpRequest, enrollment_id: Any) -> HttpResponse:
    """One patient's messages for their care team, with reply templates and a reply box."""
    viewer = guards.require_staff(request)
    enrollment = access_enrollment(viewer, enrollment_id)
    if enrollment.patient_id == viewer.pk:
        raise Http404(_("There is no such patient in your reach."))
    may_reply = services.may_reply(enrollment, viewer)
    now = timeutil.now()
    services.ensure_default_templates()
    templates = queries.templates_for(enrollment.organization)
    status = 200
    chosen = None
    if request.method == "POST":
        if not may_reply:
            raise PermissionDenied(_("Only this patient's care team can reply here."))
        form = ReplyForm(request.POST)
        if _send(form, enrollment, viewer):
            messages.success(request, _("Your reply is sent."))
            return redirect("messaging:thread", enrollment_id=enrollment.pk)
        status = 400
    else:
        key = request.GET.get("template", "")
        chosen = queries.template(enrollment.organization, key) if key else None
        initial: dict[str, Any] = {}
        if chosen is not None:
            initial = {
                "body": placeholders.fill(chosen.body, enrollment, supporter=viewer, now=now),
                "template_key": chosen.key,
            }
        form = ReplyForm(initial=initial)
    services.mark_read(enrollment, reader=viewer, now=now)
    thread_row = queries.thread_of(enrollment)
    return render(
        request,
        "messaging/thread.html",
        {
            "enrollment": enrollment,
            "patient": enrollment.patient,
            "form": form,
            "thread": queries.messages_of(enrollment),
            "waiting_since": thread_row.waiting_since if thread_row else None,
            "gestures": _gestures(templates),
            "chosen": chosen,
            "may_reply": may_reply and enrollment.is_active,
            "care_team": [m.supporter for m in supporters_of(enrollment)],
        },
        status=status,
    )
