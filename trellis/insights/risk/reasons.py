"""Why a risk is high, in plain words, from the model's exact feature contributions.

A contribution is how much one feature moved this enrollment's score (in log-odds) from
the model's baseline: exact for both models (the logistic model's terms; the trees'
path-dependent Shapley values). The features that raise the risk most are named, at most
three, each with the enrollment's own figures, never a diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_REASONS = 3
# Contributions smaller than this (log-odds) are not worth a word.
THRESHOLD = 0.05


def _n(value: float) -> int:
    return round(value)


def _days(value: float) -> str:
    n = _n(value)
    return f"{n} day" if n == 1 else f"{n} days"


Phrase = Callable[[dict[str, float]], str | None]

PHRASES: dict[str, Phrase] = {
    "days_since_active": lambda f: (
        f"no activity for {_days(f['days_since_active'])}" if f["days_since_active"] >= 1 else None
    ),
    "never_active": lambda f: "no activity since starting" if f["never_active"] else None,
    "active_days_3": lambda f: f"active on {_n(f['active_days_3'])} of the last 3 days",
    "events_3": lambda f: f"{_n(f['events_3'])} actions in the last 3 days",
    "active_days_7": lambda f: f"active on {_n(f['active_days_7'])} of the last 7 days",
    "active_days_14": lambda f: f"active on {_n(f['active_days_14'])} of the last 14 days",
    "active_days": lambda f: f"active on {_n(f['active_days'])} days since starting",
    "events_7": lambda f: f"{_n(f['events_7'])} actions in the last 7 days",
    "events_prev_7": lambda f: (
        f"{_n(f['events_7'])} actions in the last 7 days against "
        f"{_n(f['events_prev_7'])} the week before"
    ),
    "longest_gap": lambda f: f"a gap of {_days(f['longest_gap'])} without activity",
    "longest_streak": lambda f: f"longest run of active days: {_days(f['longest_streak'])}",
    "steps_completed": lambda f: f"{_n(f['steps_completed'])} steps done since starting",
    "steps_per_active_day": lambda f: f"{f['steps_per_active_day']:.1f} steps on an active day",
    "steps_started": lambda f: f"{_n(f['steps_started'])} steps begun since starting",
    "finish_rate": lambda f: f"finishes {f['finish_rate']:.0%} of the steps begun",
    "steps_7": lambda f: f"{_n(f['steps_7'])} steps done in the last 7 days",
    "steps_prev_7": lambda f: (
        f"pace slowed: {_n(f['steps_7'])} steps in the last 7 days "
        f"against {_n(f['steps_prev_7'])} the week before"
        if f["steps_7"] < f["steps_prev_7"]
        else None
    ),
    "pace": lambda f: f"{f['pace']:.0%} of the intended pace",
    "minutes_7": lambda f: f"{_n(f['minutes_7'])} minutes in exercises in the last 7 days",
    "rating_mean": lambda f: f"rates exercises {f['rating_mean']:.1f} of 5 on average",
    "mood_last": lambda f: f"last mood check-in {_n(f['mood_last'])} of 10",
    "mood_change_14": lambda f: (
        f"mood down {-_n(f['mood_change_14'])} in two weeks" if f["mood_change_14"] < 0 else None
    ),
    "phq9_last": lambda f: f"last PHQ-9 {_n(f['phq9_last'])}",
    "phq9_change": lambda f: (
        f"last PHQ-9 up {_n(f['phq9_change'])}" if f["phq9_change"] > 0 else None
    ),
    "gad7_last": lambda f: f"last GAD-7 {_n(f['gad7_last'])}",
    "gad7_change": lambda f: (
        f"last GAD-7 up {_n(f['gad7_change'])}" if f["gad7_change"] > 0 else None
    ),
    "safety_events": lambda f: "a safety answer on record" if f["safety_events"] else None,
    "messages_sent": lambda f: (
        "no messages to the care team"
        if f["messages_sent"] == 0
        else f"{_n(f['messages_sent'])} messages to the care team"
    ),
    "sessions_attended": lambda f: f"{_n(f['sessions_attended'])} live sessions attended",
    "sessions_missed": lambda f: (
        f"{_n(f['sessions_missed'])} live sessions missed" if f["sessions_missed"] else None
    ),
    "reminders_sent_7": lambda f: (
        f"opened {_n(f['reminders_opened_7'])} of "
        f"{_n(f['reminders_sent_7'])} reminders in the last 7 days"
    ),
    "reminders_opened_7": lambda f: (
        f"opened {_n(f['reminders_opened_7'])} of "
        f"{_n(f['reminders_sent_7'])} reminders in the last 7 days"
    ),
    "reminder_open_rate": lambda f: f"opens {f['reminder_open_rate']:.0%} of reminders",
    "weekend_share": lambda f: f"{f['weekend_share']:.0%} of activity at weekends",
    "baseline_phq9": lambda f: f"PHQ-9 {_n(f['baseline_phq9'])} at the start",
    "baseline_gad7": lambda f: f"GAD-7 {_n(f['baseline_gad7'])} at the start",
    "ehealth_literacy": lambda f: f"eHEALS {_n(f['ehealth_literacy'])} of 40",
    "support_level": lambda f: (
        ["self-guided", "coached", "therapist-assisted"][_n(f["support_level"])] + " support"
    ),
}


def explain(names: list[str], values: np.ndarray, contributions: np.ndarray) -> list[str]:
    """The plain-word reasons for one enrollment: the features that raise its risk most.
    Features without a phrase (the as-of day, age band, sex) are never named: they are not
    something a supporter can act on, and naming them would read as blame."""
    known = {name: float(v) for name, v in zip(names, values, strict=True) if v == v}
    found: list[str] = []
    for index in np.argsort(-contributions):
        if contributions[index] < THRESHOLD or len(found) >= MAX_REASONS:
            break
        phrase = PHRASES.get(names[index])
        if phrase is None:
            continue
        try:
            text = phrase(known)
        except KeyError:  # a figure the phrase needs is missing for this enrollment
            continue
        if text and text not in found:
            found.append(text)
    return found
