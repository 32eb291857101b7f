"""A plausible answer to every exercise kind, for the demo clinic and the simulated one.

The words are ordinary and kind, never a real person's; the figures are in range for each
exercise's own checks (programs.exercises), so `journey.services.complete_step` accepts
them as it would a patient's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trellis.programs.models import Step, StepKind

SAMPLES: dict[str, dict[str, Any]] = {
    "paced_breathing": {"minutes": 5, "breaths": 30},
    "grounding": {
        "see": "The window, my mug, a plant",
        "touch": "The chair, my sleeve",
        "hear": "Traffic, the fridge",
        "smell": "Coffee",
        "taste": "Toothpaste",
    },
    "journaling": {
        "text": (
            "This week I noticed that I feel tense most in the mornings before work. "
            "Taking a few slow breaths on the bus helped a little, and talking to my "
            "sister in the evening helped more than I expected. I want to keep doing both."
        )
    },
    "thought_record": {
        "situation": "My friend did not reply to my message",
        "automatic_thought": "She is annoyed with me",
        "emotion": "worry",
        "intensity_before": 70,
        "evidence_for": "She usually replies quickly",
        "evidence_against": "She said she had a busy week",
        "balanced_thought": "She is probably busy; I can check in tomorrow",
        "intensity_after": 35,
    },
    "behavioural_activation": {
        "activity": "Walk to the park",
        "planned_time": "10:00",
        "done": True,
        "mood": 6,
        "mastery": 5,
    },
    "worry_time": {"worries": ["Money this month", "The appointment"], "worry_time": "18:00"},
    "mindfulness": {"minutes": 5},
    "sleep_diary": {
        "bed_time": "23:15",
        "minutes_to_fall_asleep": 35,
        "wakings": 2,
        "minutes_awake": 25,
        "rise_time": "07:00",
    },
}


def sample_response(step: Step, when: datetime) -> dict[str, Any]:
    """A response to `step` that its exercise accepts, as if given at `when`."""
    if step.kind == StepKind.REFLECTION:
        return {"text": "I noticed I tense up before busy days, and slow breathing helps."}
    response = dict(SAMPLES.get(step.exercise, {}))
    if step.exercise == "behavioural_activation":
        response["planned_date"] = when.date().isoformat()
    return response
