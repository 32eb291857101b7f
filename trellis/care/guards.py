"""View guards about a patient's care that pages of several apps share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from trellis.care.models import OnboardingStage
from trellis.care.queries import pending_onboarding

# The getting-started page of each stage (trellis.onboarding's pages).
STAGE_PAGES: dict[str, str] = {
    OnboardingStage.CONSENT: "onboarding:consent",
    OnboardingStage.EHEALS: "onboarding:eheals",
    OnboardingStage.BASELINE: "onboarding:baseline",
    OnboardingStage.PREFERENCES: "onboarding:preferences",
}


def onboarding_page(user: Any) -> HttpResponse | None:
    """A redirect to the getting-started step the patient is on, or None when done."""
    pending = pending_onboarding(user)
    if pending is None:
        return None
    return redirect(STAGE_PAGES.get(pending.stage, "onboarding:start"))


def send_to_onboarding(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Program pages wait until the patient's getting-started steps are done: until then
    they lead to the step the patient is on."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return onboarding_page(request.user) or view(request, *args, **kwargs)

    return wrapper
