"""The patient's pages: Today, a step with its exercise player, the journal, the mood
check-in, My story so far, simple mode, and the installable app's manifest and worker.

Every page is a plain HTML form first; JavaScript only adds timers, pacers and the
one-sense-at-a-time view. Views stay thin: find the patient's current enrollment, call
one query or one service, render. These pages are for patients: staff get 403 (their
view of a patient's work lives on the clinic pages), and a step, entry or enrollment
outside the patient's own reach is 404.
"""

from trellis.journey.views.app import SHELL_FILES, manifest, offline, service_worker
from trellis.journey.views.days import (
    chapter,
    choose_program,
    journal,
    journal_share,
    mood,
    simple_mode,
    story,
    today,
)
from trellis.journey.views.steps import activity_done, complete, rate, start, step, step_done

__all__ = [
    "SHELL_FILES",
    "activity_done",
    "chapter",
    "choose_program",
    "complete",
    "journal",
    "journal_share",
    "manifest",
    "mood",
    "offline",
    "rate",
    "service_worker",
    "simple_mode",
    "start",
    "step",
    "step_done",
    "story",
    "today",
]
