"""Helpers the patient's pages share: the current enrollment and step, simple mode, rendering."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from trellis.care.models import Enrollment
from trellis.care.queries import current_enrollment, simple_mode_of
from trellis.journey import queries
from trellis.programs.models import Step

# Helpers ------------------------------------------------------------------------------


def in_simple_mode(request: HttpRequest) -> bool:
    cached = getattr(request, "_trellis_simple_mode", None)
    if cached is None:
        cached = simple_mode_of(request.user)
        request._trellis_simple_mode = cached  # type: ignore[attr-defined]
    return cached


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("simple_mode", in_simple_mode(request))
    return render(request, template, context, status=status)


def no_program(request: HttpRequest, title: str) -> HttpResponse:
    return render_page(request, "journey/no_program.html", {"page_title": title})


def enrollment_or_404(request: HttpRequest) -> Enrollment:
    enrollment = current_enrollment(request.user)
    if enrollment is None:
        raise Http404(_("You are not in a program yet."))
    return enrollment


# The program a patient with several running programs chose to look at (by enrollment id).
CHOSEN_PROGRAM = "journey_program"


def chosen_program(request: HttpRequest) -> Enrollment | None:
    """The running program the patient chose on Today or the story, else the latest."""
    return queries.chosen_enrollment(request.user, request.session.get(CHOSEN_PROGRAM))


def enrollment_for_step(request: HttpRequest, step_key: str) -> Enrollment:
    """The patient's running program that holds this step (the chosen one first), or 404."""
    enrollment = queries.enrollment_holding(
        request.user, step_key, prefer=request.session.get(CHOSEN_PROGRAM)
    )
    if enrollment is None:
        raise Http404(_("There is no such step in your program."))
    return enrollment


def step_or_404(enrollment: Enrollment, step_key: str) -> Step:
    return queries.access_step(enrollment, step_key)


def step_state(enrollment: Enrollment, step: Step, now: Any) -> queries.StepState:
    return queries.step_states(enrollment, now)[step.key]


def save_form(
    request: HttpRequest, form: Any, save: Callable[[dict[str, Any]], Any], thanks: str
) -> bool:
    """A patient's posted form: checked, then saved by its service with the thanks shown,
    or the service's messages put on the form. Whether it saved."""
    if not form.is_valid():
        return False
    try:
        save(form.cleaned_data)
    except ValidationError as problem:
        form.add_service_errors(problem)
        return False
    messages.success(request, thanks)
    return True
