"""The patient's pages: Today, a step with its exercise player, the journal, the mood
check-in, My story so far, simple mode, and the installable app's manifest and worker.

Every page is a plain HTML form first; JavaScript only adds timers, pacers and the
one-sense-at-a-time view. Views stay thin: find the patient's current enrollment, call
one query or one service, render. These pages are for patients: staff get 403 (their
view of a patient's work lives on the clinic pages), and a step, entry or enrollment
outside the patient's own reach is 404.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trellis.accounts import queries as account_queries
from trellis.accounts.models import Role, User
from trellis.care.guards import send_to_onboarding
from trellis.care.models import Enrollment, Preferences
from trellis.care.queries import current_enrollment, support_notice
from trellis.core import timeutil
from trellis.journey import queries, services
from trellis.journey.forms import (
    ActivityOutcomeForm,
    CompletionForm,
    JournalForm,
    MoodForm,
    RatingForm,
    ShareForm,
    SimpleModeForm,
)
from trellis.journey.models import JournalEntry, ProgressStatus, StepProgress
from trellis.measures import views as measures_views
from trellis.measures.forms import QuestionnaireForm
from trellis.measures.queries import due_for
from trellis.programs.exercises import EXERCISE_KINDS, SENSES
from trellis.programs.instruments import UnknownInstrument, get_instrument
from trellis.programs.models import Step, StepKind

PLAYERS = {
    "paced_breathing",
    "grounding",
    "journaling",
    "thought_record",
    "behavioural_activation",
    "worry_time",
    "mindfulness",
    "sleep_diary",
}
# Every form field an exercise kind reads (the rest of the POST is ignored).
PLAYER_FIELDS: dict[str, tuple[str, ...]] = {
    "paced_breathing": ("minutes", "breaths"),
    "grounding": SENSES,
    "journaling": ("text",),
    "thought_record": (
        "situation",
        "automatic_thought",
        "emotion",
        "intensity_before",
        "evidence_for",
        "evidence_against",
        "balanced_thought",
        "intensity_after",
    ),
    "behavioural_activation": ("activity", "planned_date", "planned_time"),
    "worry_time": ("worries", "worry_time"),
    "mindfulness": ("minutes",),
    "sleep_diary": (
        "bed_time",
        "rise_time",
        "minutes_to_fall_asleep",
        "wakings",
        "minutes_awake",
    ),
}
FETCH_HEADER = "X-Requested-With"


@dataclass(frozen=True)
class FieldState:
    """One hand-written player field: what was typed, and its message if it was refused."""

    name: str
    value: str
    error: str

    @property
    def error_id(self) -> str:
        return f"{self.name}-error"

    @property
    def selected(self) -> int | None:
        try:
            return int(self.value)
        except ValueError:
            return None


# Helpers ------------------------------------------------------------------------------


def _require_patient(request: HttpRequest) -> User:
    """These pages are a patient's own; staff get a plain 403."""
    user = request.user
    if not isinstance(user, User) or (
        not account_queries.active_memberships(user).filter(role=Role.PATIENT).exists()
    ):
        raise PermissionDenied(_("These pages are for patients."))
    return user


def _simple_mode(request: HttpRequest) -> bool:
    cached = getattr(request, "_trellis_simple_mode", None)
    if cached is None:
        cached = bool(
            Preferences.objects.filter(user__pk=str(request.user.pk))
            .values_list("simple_mode", flat=True)
            .first()
        )
        request._trellis_simple_mode = cached  # type: ignore[attr-defined]
    return cached


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("simple_mode", _simple_mode(request))
    return render(request, template, context, status=status)


def _no_program(request: HttpRequest, title: str) -> HttpResponse:
    return _render(request, "journey/no_program.html", {"page_title": title})


def _enrollment_or_404(request: HttpRequest) -> Enrollment:
    enrollment = current_enrollment(request.user)
    if enrollment is None:
        raise Http404(_("You are not in a program yet."))
    return enrollment


def _step_or_404(enrollment: Enrollment, step_key: str) -> Step:
    step = (
        Step.objects.filter(version_id=enrollment.program_version_id, key=step_key)
        .select_related("chapter")
        .first()
    )
    if step is None:
        raise Http404(_("There is no such step in your program."))
    return step


def _state(enrollment: Enrollment, step: Step, now: Any) -> queries.StepState:
    return queries.step_states(enrollment, now)[step.key]


def _settings(step: Step) -> dict[str, Any]:
    kind = EXERCISE_KINDS.get(step.exercise)
    return kind.resolved_settings(step.settings) if kind else dict(step.settings or {})


def _answer_fields(step: Step) -> tuple[str, ...]:
    if step.kind == StepKind.EXERCISE:
        return PLAYER_FIELDS.get(step.exercise, ())
    if step.kind == StepKind.REFLECTION:
        return ("text",)
    return ()


def _fields(
    names: tuple[str, ...], data: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, FieldState]:
    return {
        name: FieldState(
            name=name,
            value=str(data.get(name, "") or ""),
            error=" ".join(errors.get(name, [])),
        )
        for name in names
    }


def _player_context(step: Step, fields: dict[str, FieldState]) -> dict[str, Any]:
    """What the exercise kind's player template needs."""
    settings = _settings(step)
    context: dict[str, Any] = {"settings": settings}
    if step.kind != StepKind.EXERCISE or step.exercise not in PLAYERS:
        return context
    context["player_template"] = f"journey/players/{step.exercise}.html"
    context["player_script"] = f"journey/players/{step.exercise}.js"
    if step.exercise == "paced_breathing":
        context["minute_choices"] = range(1, 11)
        if not fields["minutes"].value:
            fields["minutes"] = FieldState("minutes", str(settings["duration_minutes"]), "")
    elif step.exercise == "grounding":
        counts = settings.get("counts", [5, 4, 3, 2, 1])
        context["senses"] = [
            {"name": sense, "field": fields[sense], **_sense_text(sense, count)}
            for sense, count in zip(SENSES, counts, strict=False)
        ]
    elif step.exercise == "thought_record":
        context["tr_fields"] = _thought_record_fields(fields)
    return context


def _sense_text(sense: str, count: int) -> dict[str, str]:
    titles = {
        "see": _("Things you can see"),
        "touch": _("Things you can touch or feel"),
        "hear": _("Things you can hear"),
        "smell": _("Things you can smell"),
        "taste": _("Things you can taste"),
    }
    hints = {
        "see": _("Look around and name %(n)s things you can see."),
        "touch": _("Notice %(n)s things you can feel, like your feet on the floor."),
        "hear": _("Listen for %(n)s sounds, near or far."),
        "smell": _("Notice %(n)s things you can smell, or like the smell of."),
        "taste": _("Notice %(n)s thing you can taste, or like the taste of."),
    }
    return {"title": f"{count} · {titles[sense]}", "hint": hints[sense] % {"n": count}}


def _thought_record_fields(fields: dict[str, FieldState]) -> list[dict[str, Any]]:
    spec = [
        ("situation", _("What happened?"), _("Where were you, who was there, what was going on?")),
        ("automatic_thought", _("What went through your mind?"), ""),
        ("emotion", _("What did you feel?"), _("One word is enough, like anxious or sad.")),
        ("intensity_before", _("How strong was the feeling? (0 to 100)"), ""),
        ("evidence_for", _("What makes the thought seem true?"), ""),
        ("evidence_against", _("What does not fit the thought?"), ""),
        (
            "balanced_thought",
            _("A more balanced thought"),
            _("What would you say to a friend who had this thought?"),
        ),
        ("intensity_after", _("How strong is the feeling now? (0 to 100)"), ""),
    ]
    required = {
        "situation",
        "automatic_thought",
        "emotion",
        "intensity_before",
        "balanced_thought",
        "intensity_after",
    }
    return [
        {
            "name": name,
            "label": label,
            "hint": hint,
            "field": fields[name],
            "required": name in required,
            "number": name.startswith("intensity"),
            "short": name == "emotion",
        }
        for name, label, hint in spec
    ]


def _step_page(
    request: HttpRequest,
    enrollment: Enrollment,
    step: Step,
    state: queries.StepState,
    *,
    form: CompletionForm | None = None,
    data: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    refusal: str = "",
    status: int = 200,
    questionnaire_form: Any = None,
    crisis_resources: str | None = None,
) -> HttpResponse:
    fields = _fields(_answer_fields(step), data or {}, errors or {})
    client_id = (
        form.data.get("client_id") if form is not None and form.is_bound else None
    ) or CompletionForm().initial["client_id"]
    context = {
        "step": step,
        "state": state,
        "fields": fields,
        "errors": errors or {},
        "client_id": client_id,
        "refusal": refusal,
        **_player_context(step, fields),
    }
    if step.kind == StepKind.QUESTIONNAIRE and step.instrument:
        # A questionnaire step shows the questionnaire itself (see trellis.measures).
        context["questionnaire_form"] = questionnaire_form or _questionnaire_form(step)
        context["crisis_resources"] = crisis_resources
    return _render(request, "journey/step.html", context, status=status)


def _questionnaire_form(step: Step, data: Any = None) -> Any:

    try:
        instrument = get_instrument(step.instrument)
    except UnknownInstrument:
        raise Http404(_("This questionnaire is not available.")) from None
    return QuestionnaireForm(instrument, data=data)


def _complete_questionnaire(
    request: HttpRequest, user: User, enrollment: Enrollment, the_step: Step, now: Any
) -> HttpResponse:
    """Answer a questionnaire step: the measures service stores the response (a safety
    answer first, whatever the rest), then the step is completed. The answer is the
    result page itself, so crisis resources are in this very response when they apply."""

    form = _questionnaire_form(the_step, data=request.POST)
    state = _state(enrollment, the_step, now)
    if state.status == "locked":
        return _step_page(
            request,
            enrollment,
            the_step,
            state,
            questionnaire_form=form,
            refusal=state.locked_reason or _("This step is not open yet."),
            status=409,
        )

    def finished(submitted: Any) -> HttpResponse:
        services.complete_step(
            enrollment,
            the_step,
            actor=user,
            client_id=form.client_id_value(),
            response=form.raw_answers(),
            duration_s=None,
            now=now,
        )
        return measures_views.result_page(
            request,
            enrollment,
            submitted.response,
            crisis_resources=submitted.crisis_resources,
            step=the_step,
        )

    def refused(crisis_resources: str | None) -> HttpResponse:
        return _step_page(
            request,
            enrollment,
            the_step,
            _state(enrollment, the_step, now),
            questionnaire_form=form,
            crisis_resources=crisis_resources,
            status=400,
        )

    return measures_views.submit_questionnaire(
        request,
        enrollment,
        form.instrument,
        form,
        assignment=None,
        step=the_step,
        now=now,
        on_success=finished,
        on_invalid=refused,
    )


def _result_lines(step: Step, response: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A few plain lines about what the patient entered (never the free text itself)."""
    if not response:
        return []
    lines: list[tuple[str, str]] = []
    match step.exercise:
        case "paced_breathing":
            lines.append((_("Minutes"), str(response.get("minutes", ""))))
            if response.get("breaths"):
                lines.append((_("Breaths"), str(response["breaths"])))
        case "mindfulness":
            lines.append((_("Minutes practised"), str(response.get("minutes", ""))))
        case "sleep_diary":
            lines.append((_("Sleep efficiency"), f"{response.get('sleep_efficiency', '')}%"))
            asleep = int(response.get("time_asleep_minutes", 0))
            lines.append((_("Time asleep"), _("%(h)s h %(m)s min") % _hm(asleep)))
            in_bed = int(response.get("time_in_bed_minutes", 0))
            lines.append((_("Time in bed"), _("%(h)s h %(m)s min") % _hm(in_bed)))
        case "thought_record":
            lines.append(
                (
                    _("Feeling before and after"),
                    f"{response.get('intensity_before')} → {response.get('intensity_after')}",
                )
            )
        case "behavioural_activation":
            lines.append((_("Activity"), str(response.get("activity", ""))))
            lines.append((_("Planned for"), _when(response)))
            if response.get("done"):
                lines.append((_("Mood"), f"{response.get('mood')} / 10"))
                lines.append((_("Sense of achievement"), f"{response.get('mastery')} / 10"))
        case "worry_time":
            lines.append((_("Worries set aside"), str(len(response.get("worries", [])))))
            lines.append((_("Worry time"), str(response.get("worry_time", ""))))
    return lines


def _hm(minutes: int) -> dict[str, int]:
    return {"h": minutes // 60, "m": minutes % 60}


def _when(response: dict[str, Any]) -> str:
    return f"{response.get('planned_date', '')} {response.get('planned_time', '')}".strip()


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
                    "when": _when(progress.response),
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
    user = _require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _no_program(request, _("Today"))
    now = timeutil.now()
    plan = queries.today(enrollment, now)
    states = queries.step_states(enrollment, now)
    chapter_steps = [s for s in states.values() if s.step.chapter_id == plan.chapter.pk]
    return _render(
        request,
        "journey/today.html",
        {
            "plan": plan,
            "next": plan.next_step or plan.waiting_for,
            "program_title": enrollment.program_version.title,
            "chapter_steps": chapter_steps,
            "planned": _planned_activities(states),
            "support_notice": support_notice(enrollment),
            "due_questionnaires": _due_questionnaires(enrollment, now),
        },
    )


def _due_questionnaires(enrollment: Enrollment, now: Any) -> list[dict[str, Any]]:
    """Questionnaires to answer now (not those of program steps: Today shows the step)."""

    due = []
    for assignment in due_for(enrollment, now):
        if assignment.step_id is not None:
            continue
        try:
            title = get_instrument(assignment.instrument).title
        except UnknownInstrument:
            title = assignment.instrument
        due.append({"assignment": assignment, "title": title})
    return due


@never_cache
@login_required
@require_GET
@send_to_onboarding
def step(request: HttpRequest, step_key: str) -> HttpResponse:
    """One step: its text, its exercise player, and the form that finishes it."""
    user = _require_patient(request)
    enrollment = _enrollment_or_404(request)
    the_step = _step_or_404(enrollment, step_key)
    now = timeutil.now()
    services.view_step(enrollment, the_step, actor=user, now=now)
    return _step_page(request, enrollment, the_step, _state(enrollment, the_step, now))


@login_required
@require_POST
@send_to_onboarding
def start(request: HttpRequest, step_key: str) -> HttpResponse:
    """The patient began the exercise (a player's Start button). Answers 204 to scripts."""
    user = _require_patient(request)
    enrollment = _enrollment_or_404(request)
    the_step = _step_or_404(enrollment, step_key)
    try:
        services.start_step(enrollment, the_step, actor=user, now=timeutil.now())
    except services.StepLocked as locked:
        return HttpResponse(str(locked), status=409, content_type="text/plain; charset=utf-8")
    if request.headers.get(FETCH_HEADER) == "fetch":
        return HttpResponse(status=204)
    return redirect("journey:step", step_key=the_step.key)


@login_required
@require_POST
@send_to_onboarding
def complete(request: HttpRequest, step_key: str) -> HttpResponse:
    """Finish a step with the player's answers. A repeat of the same form counts once."""
    user = _require_patient(request)
    enrollment = _enrollment_or_404(request)
    the_step = _step_or_404(enrollment, step_key)
    now = timeutil.now()
    if the_step.kind == StepKind.QUESTIONNAIRE and the_step.instrument:
        return _complete_questionnaire(request, user, enrollment, the_step, now)
    form = CompletionForm(request.POST)
    answer = {name: request.POST.get(name, "") for name in _answer_fields(the_step)}
    if not form.is_valid():
        return _step_page(
            request,
            enrollment,
            the_step,
            _state(enrollment, the_step, now),
            form=form,
            data=answer,
            refusal=" ".join(str(e) for errs in form.errors.values() for e in errs),
            status=400,
        )
    try:
        services.complete_step(
            enrollment,
            the_step,
            actor=user,
            client_id=form.cleaned_data["client_id"],
            response=answer,
            duration_s=form.cleaned_data.get("duration_s"),
            now=now,
        )
    except services.StepLocked as locked:
        return _step_page(
            request,
            enrollment,
            the_step,
            _state(enrollment, the_step, now),
            form=form,
            data=answer,
            refusal=str(locked) or _("This step is not open yet."),
            status=409,
        )
    except ValidationError as problem:
        errors = problem.message_dict if hasattr(problem, "error_dict") else {}
        refusal = "" if errors else " ".join(problem.messages)
        return _step_page(
            request,
            enrollment,
            the_step,
            _state(enrollment, the_step, now),
            form=form,
            data=answer,
            errors=errors or {"__all__": problem.messages},
            refusal=refusal,
            status=400,
        )
    return redirect("journey:step_done", step_key=the_step.key)


def _done_page(
    request: HttpRequest,
    enrollment: Enrollment,
    the_step: Step,
    progress: StepProgress,
    *,
    rating_form: RatingForm | None = None,
    outcome_form: ActivityOutcomeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    response: dict[str, Any] = progress.response if isinstance(progress.response, dict) else {}
    pending = the_step.exercise == "behavioural_activation" and not response.get("done")
    return _render(
        request,
        "journey/step_done.html",
        {
            "step": the_step,
            "progress": progress,
            "result_lines": _result_lines(the_step, response),
            "rating_form": rating_form or RatingForm(),
            "activity_pending": pending,
            "outcome_form": outcome_form or ActivityOutcomeForm(),
        },
        status=status,
    )


def _completed_progress(enrollment: Enrollment, the_step: Step) -> StepProgress | None:
    return StepProgress.objects.filter(
        enrollment=enrollment, step=the_step, status=ProgressStatus.COMPLETED
    ).first()


@never_cache
@login_required
@require_GET
@send_to_onboarding
def step_done(request: HttpRequest, step_key: str) -> HttpResponse:
    """After finishing: what was noted (e.g. sleep efficiency) and "How helpful was this?"."""
    _require_patient(request)
    enrollment = _enrollment_or_404(request)
    the_step = _step_or_404(enrollment, step_key)
    progress = _completed_progress(enrollment, the_step)
    if progress is None:
        return redirect("journey:step", step_key=the_step.key)
    return _done_page(request, enrollment, the_step, progress)


@login_required
@require_POST
@send_to_onboarding
def rate(request: HttpRequest, step_key: str) -> HttpResponse:
    """Record "How helpful was this?" (1-5) for a finished step."""
    user = _require_patient(request)
    enrollment = _enrollment_or_404(request)
    the_step = _step_or_404(enrollment, step_key)
    progress = _completed_progress(enrollment, the_step)
    form = RatingForm(request.POST)
    if progress is None:
        return _step_page(
            request,
            enrollment,
            the_step,
            _state(enrollment, the_step, timeutil.now()),
            refusal=_("Please finish this step before rating it."),
            status=409,
        )
    if form.is_valid():
        try:
            services.rate_step(
                enrollment,
                the_step,
                actor=user,
                rating=form.cleaned_data["rating"],
                client_id=form.cleaned_data["client_id"],
                now=timeutil.now(),
            )
        except ValidationError as problem:
            form.add_service_errors(problem)
        else:
            messages.success(request, _("Thank you. Your rating is saved."))
            return redirect("journey:today")
    return _done_page(request, enrollment, the_step, progress, rating_form=form, status=400)


@login_required
@require_POST
@send_to_onboarding
def activity_done(request: HttpRequest, step_key: str) -> HttpResponse:
    """A planned activity was done: record mood and sense of achievement (0-10)."""
    user = _require_patient(request)
    enrollment = _enrollment_or_404(request)
    the_step = _step_or_404(enrollment, step_key)
    progress = _completed_progress(enrollment, the_step)
    if progress is None or the_step.exercise != "behavioural_activation":
        # Nothing planned here yet: back to the step, where the plan is made.
        return redirect("journey:step", step_key=the_step.key)
    form = ActivityOutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.record_activity_outcome(
                enrollment,
                the_step,
                actor=user,
                mood=form.cleaned_data["mood"],
                mastery=form.cleaned_data["mastery"],
                client_id=form.cleaned_data["client_id"],
                now=timeutil.now(),
            )
        except ValidationError as problem:
            form.add_service_errors(problem)
        else:
            messages.success(request, _("Well done for doing it. Saved."))
            return redirect("journey:step_done", step_key=the_step.key)
    return _done_page(request, enrollment, the_step, progress, outcome_form=form, status=400)


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
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except ValidationError as problem:
            form.add_service_errors(problem)
        else:
            messages.success(request, success)
            return form, redirect(then)
    return form, None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@send_to_onboarding
def journal(request: HttpRequest) -> HttpResponse:
    """The patient's own journal: a new entry, and every entry with its sharing switch."""
    user = _require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _no_program(request, _("Journal"))
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
    return _render(
        request, "journey/journal.html", {"form": form, "entries": entries}, status=status
    )


@login_required
@require_POST
@send_to_onboarding
def journal_share(request: HttpRequest, entry_id: Any) -> HttpResponse:
    """Share one entry with the care team, or stop sharing it."""
    user = _require_patient(request)
    enrollment = _enrollment_or_404(request)
    entry = JournalEntry.objects.filter(enrollment=enrollment, pk=entry_id).first()
    if entry is None:
        raise Http404(_("There is no such journal entry."))
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
    user = _require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _no_program(request, _("Mood check-in"))
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
    recent = queries.recent_moods(enrollment, limit=7)
    return _render(request, "journey/mood.html", {"form": form, "recent": recent}, status=status)


@never_cache
@login_required
@require_GET
@send_to_onboarding
def story(request: HttpRequest) -> HttpResponse:
    """My story so far: chapters finished, exercises done, days taken part, skills learned."""
    user = _require_patient(request)
    enrollment = current_enrollment(user)
    if enrollment is None:
        return _no_program(request, _("My story so far"))
    so_far = queries.story(enrollment, timeutil.now())
    chapters = [
        {
            "title": c.chapter.title,
            "finished": c.finished,
            "steps": [{"title": s.step.title, "rating": s.rating} for s in c.steps],
        }
        for c in so_far.chapters
    ]
    return _render(
        request,
        "journey/story.html",
        {
            "story": so_far,
            "chapters": chapters,
            "program_title": enrollment.program_version.title,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def simple_mode(request: HttpRequest) -> HttpResponse:
    """Switch simple mode on or off: larger text, one action per screen, a hint each step."""
    user = _require_patient(request)
    if request.method == "POST":
        form = SimpleModeForm(request.POST)
        enabled = form.is_valid() and form.cleaned_data["enabled"]
        services.set_simple_mode(user=user, enabled=enabled, actor=user)
        messages.success(request, _("Simple mode is on.") if enabled else _("Simple mode is off."))
        return redirect("journey:simple_mode")
    return _render(request, "journey/simple_mode.html", {})


# The installable app -------------------------------------------------------------------


SHELL_FILES = (
    "trellis/trellis.css",
    "journey/journey.css",
    "journey/journey.js",
    *(f"journey/players/{name}.js" for name in sorted(PLAYERS)),
    "journey/icons/icon.svg",
    "journey/icons/icon-192.png",
    "journey/icons/icon-512.png",
)


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """The page the service worker shows with no connection. It holds no patient data."""
    response = render(request, "journey/offline.html", {})
    response.headers["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest, so a patient can add Trellis to their home screen."""
    body = {
        "name": "Trellis",
        "short_name": "Trellis",
        "description": _("Your program, one small step at a time."),
        "start_url": reverse("journey:today"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf7",
        "theme_color": "#1f6b4f",
        "icons": [
            {
                "src": static("journey/icons/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
            },
            {
                "src": static("journey/icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
            },
            {
                "src": static("journey/icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": static("journey/icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = JsonResponse(body, content_type="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the site root so it may look after every page.

    It caches only the app shell (styles, scripts, icons, the offline page), never a page
    with patient data: those always come from the network.
    """
    shell = [static(path) for path in SHELL_FILES] + [reverse("journey:offline")]
    version = _shell_version(shell)
    script = render_to_string(
        "journey/sw.js",
        {
            "shell_json": json.dumps(shell),
            "version": version,
            "offline_json": json.dumps(reverse("journey:offline")),
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


def _shell_version(shell: list[str]) -> str:
    """Changes whenever a shell file's address changes (hashed names in production)."""
    return hashlib.sha256("\n".join(shell).encode()).hexdigest()[:12]
