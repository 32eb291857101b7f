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


def send_to_onboarding(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Program pages wait until the patient's getting-started steps are done: until then
    they lead to the step the patient is on."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pending = pending_onboarding(request.user)
        if pending is not None:
            return redirect(STAGE_PAGES.get(pending.stage, "onboarding:start"))
        return view(request, *args, **kwargs)

    return wrapper
