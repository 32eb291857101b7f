"""The patient's day: Today, the journal, the mood check-in, My story so far, simple mode."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trellis.accounts import guards
from trellis.care.guards import send_to_onboarding
from trellis.care.models import Enrollment
from trellis.care.queries import current_enrollment, support_notice
from trellis.core import timeutil
from trellis.journey import queries, services
from trellis.journey.forms import (
    JournalForm,
    MoodForm,
    ShareForm,
    SimpleModeForm,
)
from trellis.journey.models import ProgressStatus
from trellis.journey.views.common import (
    CHOSEN_PROGRAM,
    chosen_program,
    enrollment_or_404,
    no_program,
    render_page,
    save_form,
)
from trellis.journey.views.steps import planned_for
from trellis.measures.queries import due_for
from trellis.programs.instruments import UnknownInstrument, get_instrument, localized


def _planned_activities(states: dict[str, queries.StepState]) -> list[dict[str, Any]]:
    """Activities the patient planned and has not yet marked done (shown on Today)."""
    planned: list[dict[str, Any]] = []
    for state in states.values():
        progress = state.progress
        if (
            state.step.exercise == "behavioural_activation"
            and progress is not None
            and progress.status == ProgressStatus.COMPLETED
            and isinstance(progress.response, dict)
            and not progress.response.get("done")
        ):
            planned.append(
                {
                    "step": state.step,
                    "activity": progress.response.get("activity", ""),
                    "when": planned_for(progress.response),
                }
            )
    return planned


# Pages --------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
@send_to_onboarding
def today(request: HttpRequest) -> HttpResponse:
    """The next step with its place in the story, a recap, and a shorter option."""
    user = guards.require_patient(request)
    enrollment = chosen_program(request)
    if enrollment is None:
        return no_program(request, _("Today"))
    now = timeutil.now()
    plan = queries.today(enrollment, now)
    carried = services.carry_recent_answers(enrollment, actor=user, now=now, states=plan.states)
    for step in carried:
        messages.info(
            request,
            _("'%(title)s' counts as done: you answered the same questionnaire recently.")
            % {"title": step.title},
        )
    if carried:
        plan = queries.today(enrollment, now)
    states = plan.states
    chapter_steps = [s for s in states.values() if s.step.chapter_id == plan.chapter.pk]
    return render_page(
        request,
        "journey/today.html",
        {
            "plan": plan,
            "next": plan.next_step or plan.waiting_for,
            "enrollment": enrollment,
            "program_title": enrollment.program_version.title,
            "programs": _programs(request, enrollment, now),
            "chapter_steps": chapter_steps,
            "planned": _planned_activities(states),
            "support_notice": support_notice(enrollment),
            "due_questionnaires": _due_questionnaires(enrollment, now),
        },
    )


def _programs(request: HttpRequest, chosen: Enrollment, now: Any) -> list[dict[str, Any]]:
    """The patient's running programs, each with its next step, when there is more than one."""
    running = queries.active_enrollments(request.user)
    if len(running) < 2:
        return []
    programs = []
    for enrollment in running:
        plan = queries.today(enrollment, now) if enrollment.pk != chosen.pk else None
        upcoming = plan.next_step or plan.waiting_for if plan is not None else None
        programs.append(
            {
                "enrollment": enrollment,
                "title": enrollment.program_version.title,
                "chosen": enrollment.pk == chosen.pk,
                "next": upcoming,
                "all_done": plan.all_done if plan is not None else False,
            }
        )
    return programs


@login_required
@require_POST
@send_to_onboarding
def choose_program(request: HttpRequest, enrollment_id: Any) -> HttpResponse:
    """A patient with several running programs chooses the one Today and the story show."""
    user = guards.require_patient(request)
    enrollment = queries.access_own_active_enrollment(user, enrollment_id)
    request.session[CHOSEN_PROGRAM] = str(enrollment.pk)
    messages.success(
        request,
        _("Now showing %(program)s.") % {"program": enrollment.program_version.title},
    )
    return redirect("journey:story" if request.POST.get("then") == "story" else "journey:today")


def _due_questionnaires(enrollment: Enrollment, now: Any) -> list[dict[str, Any]]:
    """Questionnaires to answer now (not those of program steps: Today shows the step)."""

    due = []
    for assignment in due_for(enrollment, now):
        if assignment.step_id is not None:
            continue
        try:
            title = localized(get_instrument(assignment.instrument)).title
        except UnknownInstrument:
            title = assignment.instrument
        due.append({"assignment": assignment, "title": title})
    return due


def _submit(
    request: HttpRequest,
    form_class: Any,
    act: Any,
    *,
    success: str,
    then: str,
) -> tuple[Any, HttpResponse | None]:
    """A patient's form: blank on GET; on POST, when valid, run `act` with the cleaned data.

    Returns the form (bound and carrying field messages when anything was refused) and the
    redirect to follow after a success, or None to re-render the page.
    """
    if request.method != "POST":
        return form_class(), None
    form = form_class(request.POST)
    return form, redirect(then) if save_form(request, form, act, success) else None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@send_to_onboarding
def journal(request: HttpRequest) -> HttpResponse:
    """The patient's own journal: a new entry, and every entry with its sharing switch."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return no_program(request, _("Journal"))
    form, done = _submit(
        request,
        JournalForm,
        lambda data: services.add_journal_entry(
            enrollment,
            actor=user,
            body=data["body"],
            shared=data["shared"],
            client_id=data["client_id"],
            now=timeutil.now(),
        ),
        success=_("Your entry is saved."),
        then="journey:journal",
    )
    if done is not None:
        return done
    status = 400 if form.is_bound else 200
    entries = queries.journal_for(enrollment, viewer_is_patient=True)
    return render_page(
        request, "journey/journal.html", {"form": form, "entries": entries}, status=status
    )


@login_required
@require_POST
@send_to_onboarding
def journal_share(request: HttpRequest, entry_id: Any) -> HttpResponse:
    """Share one entry with the care team, or stop sharing it."""
    user = guards.require_patient(request)
    enrollment = enrollment_or_404(request)
    entry = queries.access_journal_entry(enrollment, entry_id)
    form = ShareForm(request.POST)
    shared = form.is_valid() and form.cleaned_data["shared"]
    services.set_journal_sharing(entry, actor=user, shared=shared)
    messages.success(
        request,
        _("This entry is now shared with your care team.")
        if shared
        else _("This entry is now private."),
    )
    return redirect("journey:journal")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@send_to_onboarding
def mood(request: HttpRequest) -> HttpResponse:
    """Mood check-in: 1-10 with an optional note."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return no_program(request, _("Mood check-in"))
    form, done = _submit(
        request,
        MoodForm,
        lambda data: services.check_in_mood(
            enrollment,
            actor=user,
            score=data["score"],
            note=data["note"],
            client_id=data["client_id"],
            now=timeutil.now(),
        ),
        success=_("Thank you for checking in."),
        then="journey:today",
    )
    if done is not None:
        return done
    status = 400 if form.is_bound else 200
    recent = queries.recent_moods(enrollment, limit=30)  # a month of daily check-ins
    context = {"form": form, "recent": recent}
    return render_page(request, "journey/mood.html", context, status=status)


@never_cache
@login_required
@require_GET
@send_to_onboarding
def story(request: HttpRequest) -> HttpResponse:
    """My story so far: chapters finished, exercises done, days taken part, skills learned."""
    guards.require_patient(request)
    enrollment = chosen_program(request)
    if enrollment is None:
        return no_program(request, _("My story so far"))
    now = timeutil.now()
    so_far = queries.story(enrollment, now)
    chapters = [
        {
            "chapter": c.chapter,
            "title": c.chapter.title,
            "finished": c.finished,
            "state": c.state,
            "steps": [{"title": s.step.title, "rating": s.rating} for s in c.steps],
        }
        for c in so_far.chapters
    ]
    return render_page(
        request,
        "journey/story.html",
        {
            "story": so_far,
            "plan": queries.today(enrollment, now),
            "chapters": chapters,
            "enrollment": enrollment,
            "program_title": enrollment.program_version.title,
            "programs": _programs(request, enrollment, now),
        },
    )


@never_cache
@login_required
@require_GET
@send_to_onboarding
def chapter(request: HttpRequest, chapter_key: str) -> HttpResponse:
    """One chapter of the story: its introduction, skills, what was done, and its closing
    once finished. A chapter not open yet shows only its title and when it opens."""
    guards.require_patient(request)
    enrollment = chosen_program(request)
    if enrollment is None:
        raise Http404(_("There is no such chapter in your program."))
    now = timeutil.now()
    the_chapter = queries.access_chapter(enrollment, chapter_key)
    state = queries.chapter_state(enrollment, the_chapter, now)
    story_chapter = next(
        c for c in queries.story(enrollment, now).chapters if c.chapter.pk == the_chapter.pk
    )
    return render_page(
        request,
        "journey/chapter.html",
        {
            "chapter": the_chapter,
            "state": state,
            "done_steps": story_chapter.steps,
            "program_title": enrollment.program_version.title,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def simple_mode(request: HttpRequest) -> HttpResponse:
    """Switch simple mode on or off: larger text, one action per screen, a hint each step."""
    user = guards.require_patient(request)
    if request.method == "POST":
        form = SimpleModeForm(request.POST)
        enabled = form.is_valid() and form.cleaned_data["enabled"]
        services.set_simple_mode(user=user, enabled=enabled, actor=user)
        messages.success(request, _("Simple mode is on.") if enabled else _("Simple mode is off."))
        return redirect("journey:simple_mode")
    return render_page(request, "journey/simple_mode.html", {})
