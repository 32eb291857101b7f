"""Suggesting a level of support from how a patient felt at the start (pure, no database).

The suggestion is only a starting point for a clinician to confirm. By default it follows
the usual stepped-care reading of the baseline questionnaires:

- at or above caseness on either questionnaire (PHQ-9 10 or more, or GAD-7 8 or more):
  therapist-assisted;
- below caseness with mild symptoms (PHQ-9 5 to 9, or GAD-7 5 to 7): coached;
- otherwise (minimal symptoms): self-guided.

Whatever the totals, a baseline PHQ-9 item 9 above 0 (thoughts of being better off dead or
of self-harm) suggests therapist-assisted: someone who reported such thoughts needs a
clinician's review, so the suggestion is never self-guided. No clinic setting changes this.

A clinic can change the four thresholds in Organization.triage_settings, for example
`{"phq9_caseness": 12}`; anything it leaves out keeps the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SELF_GUIDED = "self_guided"
COACHED = "coached"
THERAPIST_ASSISTED = "therapist_assisted"

DEFAULT_THRESHOLDS: dict[str, int] = {
    "phq9_caseness": 10,
    "gad7_caseness": 8,
    "phq9_mild": 5,
    "gad7_mild": 5,
}
# The highest total each questionnaire can have, so a threshold can be checked.
MAX_TOTAL = {"phq9": 27, "gad7": 21}


@dataclass(frozen=True)
class Suggestion:
    """A suggested support level and the reason, in words a clinician and patient can read."""

    level: str
    reason: str


def problems_with(settings: Mapping[str, Any] | None) -> list[str]:
    """What is wrong with a clinic's triage settings, in plain words (empty when fine)."""
    problems: list[str] = []
    settings = settings or {}
    for key, value in settings.items():
        if key not in DEFAULT_THRESHOLDS:
            problems.append(f"Unknown triage setting {key!r}.")
            continue
        instrument = key.split("_", 1)[0]
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{key} must be a whole number.")
        elif not 0 <= value <= MAX_TOTAL[instrument]:
            problems.append(f"{key} must be between 0 and {MAX_TOTAL[instrument]}.")
    if not problems:
        merged = {**DEFAULT_THRESHOLDS, **settings}
        for instrument in ("phq9", "gad7"):
            if merged[f"{instrument}_mild"] > merged[f"{instrument}_caseness"]:
                problems.append(f"{instrument}_mild must not be higher than {instrument}_caseness.")
    return problems


def thresholds(settings: Mapping[str, Any] | None) -> dict[str, int]:
    """The defaults with a clinic's valid overrides applied (invalid values are ignored)."""
    merged = dict(DEFAULT_THRESHOLDS)
    for key, value in (settings or {}).items():
        if key not in DEFAULT_THRESHOLDS or isinstance(value, bool) or not isinstance(value, int):
            continue
        instrument = key.split("_", 1)[0]
        if 0 <= value <= MAX_TOTAL[instrument]:
            merged[key] = value
    for instrument in ("phq9", "gad7"):
        # A mild threshold above caseness makes no sense; caseness wins.
        merged[f"{instrument}_mild"] = min(
            merged[f"{instrument}_mild"], merged[f"{instrument}_caseness"]
        )
    return merged


def suggest(
    *,
    phq9: int | None,
    gad7: int | None,
    settings: Mapping[str, Any] | None = None,
    phq9_item9: int | None = None,
) -> Suggestion:
    """The support level suggested by the baseline PHQ-9 and GAD-7 totals and the baseline
    answer to PHQ-9 item 9.

    An item 9 answer above 0 suggests therapist-assisted before anything else. A missing
    total (a questionnaire that could not be scored) counts as unknown: the other
    questionnaire decides, and with neither the suggestion is coached, so a person looks at
    it rather than leaving the patient on their own. A missing item 9 answer leaves the
    totals to decide.
    """
    if phq9_item9 is not None and phq9_item9 > 0:
        return _self_harm_reported(phq9_item9, phq9=phq9, gad7=gad7)
    limits = thresholds(settings)
    if phq9 is None and gad7 is None:
        return Suggestion(
            COACHED,
            "The first questionnaires could not be scored, so a coach should check in.",
        )
    at_caseness = []
    if phq9 is not None and phq9 >= limits["phq9_caseness"]:
        at_caseness.append(f"PHQ-9 score {phq9} is at or above {limits['phq9_caseness']}")
    if gad7 is not None and gad7 >= limits["gad7_caseness"]:
        at_caseness.append(f"GAD-7 score {gad7} is at or above {limits['gad7_caseness']}")
    if at_caseness:
        return Suggestion(
            THERAPIST_ASSISTED,
            " and ".join(at_caseness)
            + " (the level that usually needs treatment), so a therapist's support is suggested.",
        )
    mild = []
    if phq9 is not None and phq9 >= limits["phq9_mild"]:
        mild.append(f"PHQ-9 score {phq9} shows mild symptoms")
    if gad7 is not None and gad7 >= limits["gad7_mild"]:
        mild.append(f"GAD-7 score {gad7} shows mild symptoms")
    if mild:
        return Suggestion(
            COACHED,
            " and ".join(mild) + ", below the treatment level, so a coach's support is suggested.",
        )
    scores = []
    if phq9 is not None:
        scores.append(f"PHQ-9 {phq9}")
    if gad7 is not None:
        scores.append(f"GAD-7 {gad7}")
    return Suggestion(
        SELF_GUIDED,
        "Symptoms are minimal (" + ", ".join(scores) + "), so the self-guided program is "
        "suggested.",
    )


def _self_harm_reported(item9: int, *, phq9: int | None, gad7: int | None) -> Suggestion:
    scores = [
        f"{name} {total}" for name, total in (("PHQ-9", phq9), ("GAD-7", gad7)) if total is not None
    ]
    totals = f" Totals: {', '.join(scores)}." if scores else ""
    return Suggestion(
        THERAPIST_ASSISTED,
        f"PHQ-9 item 9 was answered {item9} of 3: they reported thoughts of being better off "
        "dead or of hurting themselves, which needs a clinician's review, so a therapist's "
        "support is suggested whatever the totals." + totals,
    )
