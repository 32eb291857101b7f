"""Getting started (namespace "onboarding", under /welcome/): consent, eHEALS, the baseline
questionnaires and preferences, one step per page, then Today. Also the patient's consent
and preferences pages in My account, and the clinician's page to confirm a level of
support (namespace "care").

Every page is a plain form that works without JavaScript. A patient whose getting-started
steps are not done is sent to the step they are on from any other step and from the
program's pages (`send_to_onboarding`), so nobody skips ahead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from trellis.accounts import guards
from trellis.accounts import queries as account_queries
from trellis.accounts.models import Role, User
from trellis.accounts.queries import Capability
from trellis.audit.reads import Read
from trellis.audit.services import note_read
from trellis.care import consent as care_consent
from trellis.care import queries as care_queries
from trellis.care.guards import STAGE_PAGES
from trellis.care.middleware import forget_zone
from trellis.care.models import ConsentKind, Enrollment, Onboarding, OnboardingStage, Preferences
from trellis.care.queries import access_enrollment, current_enrollment
from trellis.core import timeutil
from trellis.measures.forms import QuestionnaireForm
from trellis.onboarding import services as onboarding
from trellis.onboarding.forms import (
    ConfirmSupportLevelForm,
    ConsentForm,
    InvitePatientForm,
    PreferencesForm,
    SimpleModeChoiceForm,
)
from trellis.onboarding.services.invitations import invite_patient as invite
from trellis.programs.instruments import get_instrument, localized
from trellis.programs.markdown import render as markdown
from trellis.programs.queries import latest_version

STEP_TITLES = {
    "consent": gettext_lazy("Your consent"),
    "eheals": gettext_lazy("Using health information online"),
    "phq9": gettext_lazy("How you have been feeling"),
    "gad7": gettext_lazy("How anxious you have been feeling"),
    "preferences": gettext_lazy("Your preferences"),
    onboarding.SIMPLE_MODE_STEP: gettext_lazy("Would simple mode help?"),
}


# Helpers ------------------------------------------------------------------------------


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """A patient page, in simple mode when the patient chose it."""
    context.setdefault("simple_mode", care_queries.simple_mode_of(request.user))
    return render(request, template, context, status=status)


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, so it is checked), else None."""
    return request.POST if request.method == "POST" else None


def stage_url(item: Onboarding) -> str:
    """The page of the getting-started stage the patient is on (one map for every app)."""
    return reverse(STAGE_PAGES.get(item.stage, "onboarding:start"))


def _after_onboarding(user: User) -> HttpResponse:
    if current_enrollment(user) is not None:
        return redirect("journey:today")
    return redirect("clinic:home")


def _at_step(
    request: HttpRequest, step: str
) -> tuple[User, Onboarding | None, HttpResponse | None]:
    """The patient and their onboarding if `step` is theirs now; else where to go instead."""
    user = guards.require_patient(request)
    pending = care_queries.pending_onboarding(user)
    if pending is None:
        return user, None, _after_onboarding(user)
    if onboarding.current_step(pending) != step:
        return user, None, redirect(stage_url(pending))
    return user, pending, None


def _context(step: str, enrollment: Enrollment | None = None, **extra: Any) -> dict[str, Any]:
    steps = onboarding.steps_for(enrollment)
    return {
        "step_number": onboarding.step_number(step, steps),
        "step_count": len(steps),
        "step_title": STEP_TITLES[step],
        **extra,
    }


def _questionnaire_form(instrument: Any, data: Any = None) -> Any:

    return QuestionnaireForm(instrument, data=data)


def _client_id(form: Any) -> uuid.UUID:
    value = form.client_id_value()
    return value if value is not None else uuid.uuid4()


def _questionnaire_page(
    request: HttpRequest,
    step: str,
    instrument: Any,
    form: Any,
    *,
    action: str,
    enrollment: Enrollment | None,
    crisis_resources: str | None = None,
    status: int = 200,
) -> HttpResponse:
    return _render(
        request,
        "onboarding/steps/questionnaire.html",
        _context(
            step,
            enrollment,
            instrument=instrument,
            form=form,
            action=action,
            crisis_resources=crisis_resources,
        ),
        status=status,
    )


# The getting-started questionnaires, by the step that asks each.
QUESTIONNAIRE_STEPS = {
    onboarding.EHEALS: "eheals",
    onboarding.PHQ9: "phq9",
    onboarding.GAD7: "gad7",
}


def _posted_instrument(request: HttpRequest, expected: tuple[str, ...], default: str) -> str:
    """The questionnaire the sent page was drawing (its hidden `instrument`), so answers
    are read against the questions the patient saw, even if their step moved on since."""
    posted = request.POST.get("instrument", "")
    return posted if posted in expected else default


def _answer_questionnaire(
    request: HttpRequest,
    user: User,
    code: str,
    submit: Callable[..., onboarding.QuestionnaireResult],
    action: str,
) -> tuple[onboarding.QuestionnaireResult | None, HttpResponse | None]:
    """Send one getting-started questionnaire; the page to show instead if it was refused.

    The service acts on a safety answer before it checks anything else, so a refusal (a
    step already done in another tab, getting started already finished, answers missing)
    still shows the crisis resources when one fired. A page without its client id gets a
    new one: getting started has no other way to send the answers again.
    """
    step = QUESTIONNAIRE_STEPS[code]
    enrollment = care_queries.latest_enrollment(user)
    if enrollment is None:
        return None, _after_onboarding(user)
    instrument = localized(get_instrument(code))
    form = QuestionnaireForm(instrument, data=request.POST)
    form.is_valid()
    try:
        result = submit(
            enrollment,
            actor=user,
            answers=form.raw_answers(),
            client_id=_client_id(form),
            now=timeutil.now(),
        )
    except onboarding.WrongStage as refused:
        if refused.crisis_resources:
            return None, _render(
                request,
                "onboarding/steps/crisis.html",
                _context(
                    step,
                    enrollment,
                    crisis_resources=refused.crisis_resources,
                    reason=_(
                        "You had already moved past these questions, so only your "
                        "answer about hurting yourself was kept."
                    ),
                ),
                status=409,
            )
        pending = care_queries.pending_onboarding(user)
        return None, redirect(stage_url(pending)) if pending else _after_onboarding(user)
    except ValidationError as error:
        form.add_service_errors(error)
        return None, _questionnaire_page(
            request,
            step,
            instrument,
            form,
            action=action,
            enrollment=enrollment,
            crisis_resources=getattr(error, "crisis_resources", None),
            status=400,
        )
    return result, None


# Getting started ----------------------------------------------------------------------


@never_cache
@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Where the invitation leads: the step the patient is on (or Today when done)."""
    user = guards.require_patient(request)
    pending = care_queries.pending_onboarding(user)
    if pending is None:
        return _after_onboarding(user)
    return redirect(stage_url(pending))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest) -> HttpResponse:
    """Step 1: each consent document in plain words, with agree or decline."""
    user, item, elsewhere = _at_step(request, "consent")
    if elsewhere is not None or item is None:
        return elsewhere or _after_onboarding(user)
    org = item.enrollment.organization
    documents = care_consent.current_documents(org, org.locale)
    form = ConsentForm(_posted(request), documents=documents)
    if request.method == "POST" and form.is_valid():
        try:
            onboarding.record_consents(
                item.enrollment, actor=user, answers=form.answers(), now=timeutil.now()
            )
        except onboarding.WrongStage:
            return redirect("onboarding:start")
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("onboarding:eheals")
    rows = [{"doc": doc, "field": form[doc.kind], "html": markdown(doc.body)} for doc in documents]
    return _render(
        request,
        "onboarding/steps/consent.html",
        _context("consent", form=form, rows=rows, clinic=org),
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def eheals(request: HttpRequest) -> HttpResponse:
    """Step 2: eHEALS, how confident the patient feels using health information online."""
    action = reverse("onboarding:eheals")
    if request.method == "POST":
        # Answers first (safety first), then whether this step is still the patient's.
        result, page = _answer_questionnaire(
            request, guards.require_patient(request), onboarding.EHEALS, _eheals_submit, action
        )
        if page is not None:
            return page
        if result is not None and result.low_health_literacy:
            return redirect("onboarding:simple_mode")
        return redirect("onboarding:baseline")
    user, item, elsewhere = _at_step(request, "eheals")
    if elsewhere is not None or item is None:
        return elsewhere or _after_onboarding(user)
    instrument = localized(get_instrument(onboarding.EHEALS))
    return _questionnaire_page(
        request,
        "eheals",
        instrument,
        _questionnaire_form(instrument),
        action=action,
        enrollment=item.enrollment,
    )


def _eheals_submit(enrollment: Enrollment, **kwargs: Any) -> onboarding.QuestionnaireResult:
    return onboarding.submit_eheals(enrollment, **kwargs)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def simple_mode(request: HttpRequest) -> HttpResponse:
    """After a low eHEALS score: would the patient like simple mode? A clear yes or no."""
    user, item, elsewhere = _at_step(request, "phq9")
    if elsewhere is not None or item is None:
        return elsewhere or _after_onboarding(user)
    if not onboarding.low_health_literacy(item.enrollment):
        return redirect("onboarding:baseline")
    form = SimpleModeChoiceForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        enabled = form.cleaned_data["choice"] == "yes"
        onboarding.choose_simple_mode(
            item.enrollment, actor=user, enabled=enabled, now=timeutil.now()
        )
        if enabled:
            messages.success(request, _("Simple mode is on. You can change it at any time."))
        return redirect("onboarding:baseline")
    return _render(
        request,
        "onboarding/steps/simple_mode.html",
        _context(onboarding.SIMPLE_MODE_STEP, item.enrollment, form=form),
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def baseline(request: HttpRequest) -> HttpResponse:
    """Steps 3 and 4: the baseline PHQ-9, then GAD-7. An answer about self-harm shows the
    clinic's crisis resources on the very next page, whatever else was answered."""
    user = guards.require_patient(request)
    action = reverse("onboarding:baseline")
    pending = care_queries.pending_onboarding(user)
    step = onboarding.current_step(pending) if pending is not None else ""
    if request.method == "POST":
        # Answers first (safety first), then whether this step is still the patient's.
        code = _posted_instrument(
            request, onboarding.BASELINE, onboarding.GAD7 if step == "gad7" else onboarding.PHQ9
        )

        def submit(enrollment: Enrollment, **kwargs: Any) -> onboarding.QuestionnaireResult:
            return onboarding.submit_baseline(enrollment, code, **kwargs)

        result, page = _answer_questionnaire(request, user, code, submit, action)
        if page is not None:
            return page
        if result is not None and result.crisis_resources:
            return _render(
                request,
                "onboarding/steps/crisis.html",
                _context(
                    QUESTIONNAIRE_STEPS[code],
                    pending.enrollment if pending is not None else None,
                    crisis_resources=result.crisis_resources,
                ),
            )
        return redirect("onboarding:start")
    if pending is None:
        return _after_onboarding(user)
    if step not in ("phq9", "gad7"):
        return redirect(stage_url(pending))
    instrument = localized(get_instrument(onboarding.PHQ9 if step == "phq9" else onboarding.GAD7))
    return _questionnaire_page(
        request,
        step,
        instrument,
        _questionnaire_form(instrument),
        action=action,
        enrollment=pending.enrollment,
    )


def _preferences_initial(user: User) -> dict[str, Any]:
    prefs = Preferences.objects.filter(user=user).first()
    enrollment = current_enrollment(user)
    clinic_zone = enrollment.organization.time_zone if enrollment else "America/New_York"
    if prefs is None:
        return {"time_zone": clinic_zone, "reminder_channels": ["email", "in_app"]}
    return {
        "contact_style": prefs.contact_style,
        "reminder_channels": prefs.reminder_channels,
        "quiet_hours_start": prefs.quiet_hours_start,
        "quiet_hours_end": prefs.quiet_hours_end,
        "time_zone": prefs.time_zone or clinic_zone,
    }


def _save_preferences(request: HttpRequest, user: User, form: PreferencesForm) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        onboarding.save_preferences(
            user=user,
            actor=user,
            contact_style=data["contact_style"],
            reminder_channels=data["reminder_channels"],
            quiet_hours_start=data["quiet_hours_start"],
            quiet_hours_end=data["quiet_hours_end"],
            time_zone=data["time_zone"],
            now=timeutil.now(),
        )
    except ValidationError as error:
        form.add_service_errors(error)
        return False
    forget_zone(request)  # the next page shows times in the zone just chosen
    return True


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """Step 5: how to be in touch, reminders, quiet hours and time zone; then Today."""
    user, item, elsewhere = _at_step(request, "preferences")
    if elsewhere is not None or item is None:
        return elsewhere or _after_onboarding(user)
    form = PreferencesForm(_posted(request), initial=_preferences_initial(user))
    if request.method == "POST" and _save_preferences(request, user, form):
        try:
            onboarding.finish_preferences(item.enrollment, actor=user, now=timeutil.now())
        except onboarding.WrongStage:
            return redirect("onboarding:start")
        messages.success(request, _("You are all set. Welcome to your program."))
        return redirect("journey:today")
    return _render(
        request,
        "onboarding/steps/preferences.html",
        _context(
            "preferences",
            item.enrollment,
            form=form,
            action=reverse("onboarding:preferences"),
        ),
        status=400 if form.is_bound and form.errors else 200,
    )


# My account ---------------------------------------------------------------------------


@never_cache
@login_required
def my_consents(request: HttpRequest) -> HttpResponse:
    """My account / consent: what the patient agreed to, and a way to withdraw each."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    org = enrollment.organization if enrollment else None
    latest = {c.document.kind: c for c in care_consent.latest_consents(user)}
    documents = care_consent.current_documents(org, org.locale if org else "en")
    rows = []
    for doc in documents:
        answer = latest.get(doc.kind)
        rows.append(
            {
                "doc": doc,
                "answer": answer,
                "in_force": answer is not None and answer.agreed and answer.withdrawn_at is None,
                # The words the patient answered, and the current ones if they changed since.
                "html": markdown(answer.document.body if answer else doc.body),
                "newer": doc if answer and answer.document_id != doc.pk else None,
                "newer_html": markdown(doc.body) if answer and answer.document_id != doc.pk else "",
                "consequence": care_consent.withdrawal_consequence(doc.kind),
                "optional": not doc.required,
            }
        )
    return _render(request, "onboarding/account/consents.html", {"rows": rows})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def withdraw_consent(request: HttpRequest, pk: Any) -> HttpResponse:
    """Confirm, then withdraw one consent; the page says plainly what will happen."""
    user = guards.require_patient(request)
    answer = care_consent.access_consent(user, pk)
    if request.method == "POST":
        try:
            care_consent.withdraw_consent(answer, actor=user, now=timeutil.now())
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("onboarding:my_consents")
        if answer.document.kind in care_consent.ENDS_ENROLLMENT:
            messages.success(
                request,
                _(
                    "You have withdrawn your consent. Your program has stopped and your care "
                    "team has been told."
                ),
            )
        else:
            messages.success(request, _("You have withdrawn your consent."))
        return redirect("onboarding:my_consents")
    return _render(
        request,
        "onboarding/account/withdraw.html",
        {
            "answer": answer,
            "consequence": care_consent.withdrawal_consequence(answer.document.kind),
            "ends_program": answer.document.kind in care_consent.ENDS_ENROLLMENT,
        },
    )


@login_required
@require_POST
def agree_research(request: HttpRequest) -> HttpResponse:
    """Say yes to research later (it is optional during getting started)."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    org = enrollment.organization if enrollment else None
    docs = [
        d
        for d in care_consent.current_documents(org, org.locale if org else "en")
        if d.kind == ConsentKind.RESEARCH
    ]
    if docs and not care_consent.has_consent(user, ConsentKind.RESEARCH):
        care_consent.give_consent(docs[0], actor=user, now=timeutil.now())
        messages.success(request, _("Thank you. You have agreed to take part in research."))
    return redirect("onboarding:my_consents")


@login_required
@require_POST
def agree_current(request: HttpRequest) -> HttpResponse:
    """Agree to the current version of a text the patient answered in an earlier version
    (a new automated-features text, say). Only a current document of their clinic is
    accepted; anything else is a 400."""
    user = guards.require_patient(request)
    enrollment = current_enrollment(user)
    org = enrollment.organization if enrollment else None
    current = {
        str(d.pk): d for d in care_consent.current_documents(org, org.locale if org else "en")
    }
    document = current.get(request.POST.get("document", ""))
    if document is None:
        return HttpResponseBadRequest(_("That is not a current consent text."))
    latest = {c.document.kind: c for c in care_consent.latest_consents(user)}
    answer = latest.get(document.kind)
    if not (
        answer and answer.document_id == document.pk and answer.agreed and not answer.withdrawn_at
    ):
        care_consent.give_consent(document, actor=user, now=timeutil.now())
    messages.success(request, _("Thank you. Your answer is saved."))
    return redirect("onboarding:my_consents")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def my_preferences(request: HttpRequest) -> HttpResponse:
    """My account / preferences: the same choices as when getting started."""
    user = guards.require_patient(request)
    form = PreferencesForm(_posted(request), initial=_preferences_initial(user))
    if request.method == "POST" and _save_preferences(request, user, form):
        messages.success(request, _("Your preferences are saved."))
        return redirect("onboarding:my_preferences")
    return _render(
        request,
        "onboarding/account/preferences.html",
        {"form": form, "action": reverse("onboarding:my_preferences")},
        status=400 if form.is_bound and form.errors else 200,
    )


# Clinic side --------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def confirm_support_level(request: HttpRequest, pk: Any) -> HttpResponse:
    """A therapist or supervisor confirms (or changes) the level of support triage
    suggested for a patient in their reach."""
    if (
        not account_queries.active_memberships(request.user)
        .filter(role__in=(Role.THERAPIST, Role.SUPERVISOR))
        .exists()
    ):
        raise PermissionDenied(_("Only therapists and supervisors confirm a level of support."))
    enrollment = access_enrollment(request.user, pk)
    if not onboarding.can_confirm_support(request.user, enrollment.organization):
        raise PermissionDenied(_("Only therapists and supervisors confirm a level of support."))
    initial = {"level": enrollment.suggested_support_level or enrollment.support_level}
    form = ConfirmSupportLevelForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            onboarding.confirm_support_level(
                enrollment,
                actor=request.user,  # type: ignore[arg-type]
                level=form.cleaned_data["level"],
                note=form.cleaned_data["note"],
                now=timeutil.now(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("The level of support for %(name)s is confirmed.")
                % {"name": enrollment.patient.display_name},
            )
            return redirect("care:confirm_support_level", pk=enrollment.pk)
    if request.method == "GET":  # shown again after a refused POST, it is not a new read
        note_read(
            actor=request.user,
            what=Read.RECORD,
            via="page",
            patient=enrollment.patient_id,
            subject=enrollment,
            organization=enrollment.organization_id,
            details={"what": "level of support"},
        )
    return _render(
        request,
        "onboarding/confirm_support_level.html",
        {"enrollment": enrollment, "form": form, "stage": _stage_label(enrollment)},
        status=400 if form.is_bound and form.errors else 200,
    )


def _stage_label(enrollment: Enrollment) -> str:
    item = care_queries.onboarding_of(enrollment)
    if item is None:
        return ""
    return str(OnboardingStage(item.stage).label)


@require_http_methods(["GET", "POST"])
@login_required
def invite_patient(request: HttpRequest) -> HttpResponse:
    """A clinician invites a patient by email into a program, with supporters."""

    org = (
        account_queries.organizations_with(request.user, Capability.VIEW_PATIENTS)
        .order_by("name")
        .first()
    )
    if org is None:
        raise PermissionDenied(
            _("Only the clinic's coaches, therapists and supervisors can do this.")
        )
    form = InvitePatientForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invite(
                organization=org,
                email=data["email"],
                full_name=data["full_name"],
                program_version=latest_version(data["program"].slug),  # type: ignore[arg-type]
                support_level=data["support_level"],
                supporters=list(data["supporters"]),
                team=data["team"],
                actor=cast(User, request.user),
                now=timeutil.now(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request, _("An invitation is on its way to %(email)s.") % {"email": data["email"]}
            )
            return redirect("clinic:people")
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request, "onboarding/invite_patient.html", {"form": form, "clinic": org}, status=status
    )
