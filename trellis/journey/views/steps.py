"""A step of the program: its page with the exercise player, starting and completing it, the
questionnaire step, the done page, rating it, and marking a planned activity done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from trellis.accounts import guards
from trellis.accounts.models import User
from trellis.care.guards import onboarding_page, send_to_onboarding
from trellis.care.models import Enrollment
from trellis.core import timeutil
from trellis.journey import queries, services
from trellis.journey.forms import (
    ActivityOutcomeForm,
    CompletionForm,
    RatingForm,
)
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.journey.views.common import (
    CHOSEN_PROGRAM,
    enrollment_for_step,
    render_page,
    save_form,
    step_or_404,
    step_state,
)
from trellis.measures import views as measures_views
from trellis.measures.forms import QuestionnaireForm
from trellis.programs.exercises import EXERCISE_KINDS, SENSES
from trellis.programs.instruments import UnknownInstrument, get_instrument, localized
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
        "chapter_opening": _chapter_opening(enrollment, step, state),
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
        context["answered_earlier"] = queries.answered_earlier(
            enrollment, state.progress, timeutil.now()
        )
    return render_page(request, "journey/step.html", context, status=status)


def _chapter_opening(enrollment: Enrollment, step: Step, state: queries.StepState) -> bool:
    """Whether this open step is in a chapter the patient has not begun yet (the chapter's
    introduction is offered above it)."""
    if state.status != "available":
        return False
    in_chapter = [
        s
        for s in queries.step_states(enrollment, timeutil.now()).values()
        if s.step.chapter_id == step.chapter_id
    ]
    return not queries.chapter_begun(in_chapter)


def _questionnaire_form(step: Step, data: Any = None) -> Any:

    try:
        instrument = localized(get_instrument(step.instrument))
    except UnknownInstrument:
        raise Http404(_("This questionnaire is not available.")) from None
    return QuestionnaireForm(instrument, data=data)


def _complete_questionnaire(
    request: HttpRequest, user: User, enrollment: Enrollment, the_step: Step, now: Any
) -> HttpResponse:
    """Answer a questionnaire step: its safety answers are acted on first, whatever else is
    wrong (getting started not finished, the program ended, the step still locked); then
    the measures service stores the response and the step is completed. The answer is the
    result page itself, so crisis resources are in this very response when they apply."""

    try:
        instrument = localized(get_instrument(the_step.instrument))
    except UnknownInstrument:
        raise Http404(_("This questionnaire is not available.")) from None
    form, first = measures_views.safety_first(request, enrollment, instrument, now=now)
    crisis = first.crisis_resources
    elsewhere = onboarding_page(user)
    ended = not enrollment.is_active
    if crisis and (elsewhere is not None or ended):
        return measures_views.refused_page(
            request,
            instrument,
            crisis_resources=crisis,
            reason=_("Please finish getting started first; your other answers were not saved.")
            if elsewhere is not None
            else _("This program has ended, so your other answers could not be saved."),
        )
    if elsewhere is not None:
        return elsewhere
    if ended:
        raise Http404(_("You are not in a program yet."))
    state = step_state(enrollment, the_step, now)
    if state.status == "locked":
        return _step_page(
            request,
            enrollment,
            the_step,
            state,
            questionnaire_form=form,
            refusal=state.locked_reason or _("This step is not open yet."),
            crisis_resources=crisis,
            status=409,
        )

    def finished(submitted: Any) -> HttpResponse:
        services.complete_step(
            enrollment,
            the_step,
            actor=user,
            client_id=first.client_id,
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
            step_state(enrollment, the_step, now),
            questionnaire_form=form,
            crisis_resources=crisis_resources,
            status=400,
        )

    return measures_views.submit_questionnaire(
        request,
        enrollment,
        form,
        first,
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
            lines.append((_("Planned for"), planned_for(response)))
            if response.get("done"):
                lines.append((_("Mood"), f"{response.get('mood')} / 10"))
                lines.append((_("Sense of achievement"), f"{response.get('mastery')} / 10"))
        case "worry_time":
            lines.append((_("Worries set aside"), str(len(response.get("worries", [])))))
            lines.append((_("Worry time"), str(response.get("worry_time", ""))))
    return lines


def _hm(minutes: int) -> dict[str, int]:
    return {"h": minutes // 60, "m": minutes % 60}


def planned_for(response: dict[str, Any]) -> str:
    """When a planned activity is, as the patient reads dates: "Sat 5 Dec, 10:00" in English.

    The day and time are the patient's own wall clock (what they typed), so no zone changes
    them. The format is a translatable Django date format, so each language orders it its way.
    """
    parts = (response.get("planned_date"), response.get("planned_time"))
    raw = " ".join(str(part) for part in parts if part)
    try:
        day = date.fromisoformat(str(response.get("planned_date")))
        clock = time.fromisoformat(str(response.get("planned_time")))
    except ValueError:
        return raw
    # Translators: a Django date format (https://docs.djangoproject.com/en/stable/ref/templates/builtins/#date).
    return date_format(datetime.combine(day, clock), pgettext("planned activity", "D j M, H:i"))


@never_cache
@login_required
@require_GET
@send_to_onboarding
def step(request: HttpRequest, step_key: str) -> HttpResponse:
    """One step: its text, its exercise player, and the form that finishes it."""
    user = guards.require_patient(request)
    enrollment = enrollment_for_step(request, step_key)
    the_step = step_or_404(enrollment, step_key)
    now = timeutil.now()
    services.view_step(enrollment, the_step, actor=user, now=now)
    if the_step.kind == StepKind.QUESTIONNAIRE:
        services.carry_recent_answers(enrollment, actor=user, now=now)
    return _step_page(request, enrollment, the_step, step_state(enrollment, the_step, now))


@login_required
@require_POST
@send_to_onboarding
def start(request: HttpRequest, step_key: str) -> HttpResponse:
    """The patient began the exercise (a player's Start button). Answers 204 to scripts."""
    user = guards.require_patient(request)
    enrollment = enrollment_for_step(request, step_key)
    the_step = step_or_404(enrollment, step_key)
    try:
        services.start_step(enrollment, the_step, actor=user, now=timeutil.now())
    except services.StepLocked as locked:
        return HttpResponse(str(locked), status=409, content_type="text/plain; charset=utf-8")
    if request.headers.get(FETCH_HEADER) == "fetch":
        return HttpResponse(status=204)
    return redirect("journey:step", step_key=the_step.key)


@login_required
@require_POST
def complete(request: HttpRequest, step_key: str) -> HttpResponse:
    """Finish a step with the player's answers. A repeat of the same form counts once.

    A questionnaire step looks at its safety answers before anything else (even before
    sending the patient back to getting started); other steps are finished only in the
    current program, once getting started is done."""
    user = guards.require_patient(request)
    found = queries.step_of_patient(user, step_key, prefer=request.session.get(CHOSEN_PROGRAM))
    if found is None:
        raise Http404(_("There is no such step in your program."))
    enrollment, the_step = found
    now = timeutil.now()
    if the_step.kind == StepKind.QUESTIONNAIRE and the_step.instrument:
        return _complete_questionnaire(request, user, enrollment, the_step, now)
    elsewhere = onboarding_page(user)
    if elsewhere is not None:
        return elsewhere
    if not enrollment.is_active:
        raise Http404(_("There is no such step in your program."))
    form = CompletionForm(request.POST)
    answer = {name: request.POST.get(name, "") for name in _answer_fields(the_step)}
    if not form.is_valid():
        return _step_page(
            request,
            enrollment,
            the_step,
            step_state(enrollment, the_step, now),
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
            step_state(enrollment, the_step, now),
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
            step_state(enrollment, the_step, now),
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
    return render_page(
        request,
        "journey/step_done.html",
        {
            "step": the_step,
            "progress": progress,
            "result_lines": _result_lines(the_step, response),
            "rating_form": rating_form or RatingForm(),
            "activity_pending": pending,
            "outcome_form": outcome_form or ActivityOutcomeForm(),
            "chapter_end": queries.chapter_end(enrollment, the_step, timeutil.now()),
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
    guards.require_patient(request)
    enrollment = enrollment_for_step(request, step_key)
    the_step = step_or_404(enrollment, step_key)
    progress = _completed_progress(enrollment, the_step)
    if progress is None:
        return redirect("journey:step", step_key=the_step.key)
    return _done_page(request, enrollment, the_step, progress)


@login_required
@require_POST
@send_to_onboarding
def rate(request: HttpRequest, step_key: str) -> HttpResponse:
    """Record "How helpful was this?" (1-5) for a finished step."""
    user = guards.require_patient(request)
    enrollment = enrollment_for_step(request, step_key)
    the_step = step_or_404(enrollment, step_key)
    progress = _completed_progress(enrollment, the_step)
    form = RatingForm(request.POST)
    if progress is None:
        return _step_page(
            request,
            enrollment,
            the_step,
            step_state(enrollment, the_step, timeutil.now()),
            refusal=_("Please finish this step before rating it."),
            status=409,
        )
    saved = save_form(
        request,
        form,
        lambda data: services.rate_step(
            enrollment,
            the_step,
            actor=user,
            rating=data["rating"],
            client_id=data["client_id"],
            now=timeutil.now(),
        ),
        _("Thank you. Your rating is saved."),
    )
    if saved:
        return redirect("journey:today")
    return _done_page(request, enrollment, the_step, progress, rating_form=form, status=400)


@login_required
@require_POST
@send_to_onboarding
def activity_done(request: HttpRequest, step_key: str) -> HttpResponse:
    """A planned activity was done: record mood and sense of achievement (0-10)."""
    user = guards.require_patient(request)
    enrollment = enrollment_for_step(request, step_key)
    the_step = step_or_404(enrollment, step_key)
    progress = _completed_progress(enrollment, the_step)
    if progress is None or the_step.exercise != "behavioural_activation":
        # Nothing planned here yet: back to the step, where the plan is made.
        return redirect("journey:step", step_key=the_step.key)
    form = ActivityOutcomeForm(request.POST)
    saved = save_form(
        request,
        form,
        lambda data: services.record_activity_outcome(
            enrollment,
            the_step,
            actor=user,
            mood=data["mood"],
            mastery=data["mastery"],
            client_id=data["client_id"],
            now=timeutil.now(),
        ),
        _("Well done for doing it. Saved."),
    )
    if saved:
        return redirect("journey:step_done", step_key=the_step.key)
    return _done_page(request, enrollment, the_step, progress, outcome_form=form, status=400)
