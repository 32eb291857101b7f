"""Getting a patient started (one function per thing a patient or clinician does):

- `getting_started`: consent, eHEALS, the baseline questionnaires, triage, preferences,
  confirming the level of support;
- `invitations`: inviting a patient into a program, and enrolling them when they accept.
"""

from trellis.onboarding.services.getting_started import (
    BASELINE,
    EHEALS,
    EHEALS_INADEQUATE_MAX,
    GAD7,
    PHQ9,
    STEPS,
    QuestionnaireResult,
    WrongStage,
    answered,
    apply_triage,
    can_confirm_support,
    choose_simple_mode,
    confirm_support_level,
    current_step,
    finish_preferences,
    low_health_literacy,
    mark_done,
    record_consents,
    save_preferences,
    start_onboarding,
    step_number,
    submit_baseline,
    submit_eheals,
)
from trellis.onboarding.services.invitations import (
    accept_invitation,
    enroll_invited_patient,
    enroll_patient,
    invite_patient,
)

__all__ = [
    "BASELINE",
    "EHEALS",
    "EHEALS_INADEQUATE_MAX",
    "GAD7",
    "PHQ9",
    "STEPS",
    "QuestionnaireResult",
    "WrongStage",
    "accept_invitation",
    "answered",
    "apply_triage",
    "can_confirm_support",
    "choose_simple_mode",
    "confirm_support_level",
    "current_step",
    "enroll_invited_patient",
    "enroll_patient",
    "finish_preferences",
    "invite_patient",
    "low_health_literacy",
    "mark_done",
    "record_consents",
    "save_preferences",
    "start_onboarding",
    "step_number",
    "submit_baseline",
    "submit_eheals",
]
