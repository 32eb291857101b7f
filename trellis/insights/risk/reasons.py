"""Why a risk is high, in plain words, from the model's exact feature contributions.

A contribution is how much one feature moved this enrollment's score (in log-odds) from
the model's baseline: exact for both models (the logistic model's terms; the trees'
path-dependent Shapley values). The features that raise the risk most are named, at most
three, each with the enrollment's own figures, never a diagnosis.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MAX_REASONS = 3
# Contributions smaller than this (log-odds) are not worth a word.
THRESHOLD = 0.05


def _n(value: float) -> int:
    return round(value)


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _count(key: str, words: Callable[[int], str]) -> Phrase:
    """A phrase about a number of something (days, steps...): `words` gets the number and
    says it, singular or plural (ngettext, so the catalogues hold both forms)."""

    def phrase(f: dict[str, float]) -> str:
        return words(_n(f[key]))

    return phrase


Phrase = Callable[[dict[str, float]], str | None]


def _if(condition: Callable[[dict[str, float]], bool], phrase: Phrase) -> Phrase:
    return lambda f: phrase(f) if condition(f) else None


PHRASES: dict[str, Phrase] = {
    "days_since_active": _if(
        lambda f: f["days_since_active"] >= 1,
        _count(
            "days_since_active",
            lambda n: (
                ngettext("no activity for %(n)d day", "no activity for %(n)d days", n) % {"n": n}
            ),
        ),
    ),
    "never_active": _if(
        lambda f: bool(f["never_active"]), lambda f: _("no activity since starting")
    ),
    "active_days_3": lambda f: (
        _("active on %(n)d of the last 3 days") % {"n": _n(f["active_days_3"])}
    ),
    "active_days_7": lambda f: (
        _("active on %(n)d of the last 7 days") % {"n": _n(f["active_days_7"])}
    ),
    "active_days_14": lambda f: (
        _("active on %(n)d of the last 14 days") % {"n": _n(f["active_days_14"])}
    ),
    "active_days": _count(
        "active_days",
        lambda n: (
            ngettext("active on %(n)d day since starting", "active on %(n)d days since starting", n)
            % {"n": n}
        ),
    ),
    "events_3": _count(
        "events_3",
        lambda n: (
            ngettext("%(n)d action in the last 3 days", "%(n)d actions in the last 3 days", n)
            % {"n": n}
        ),
    ),
    "events_7": _count(
        "events_7",
        lambda n: (
            ngettext("%(n)d action in the last 7 days", "%(n)d actions in the last 7 days", n)
            % {"n": n}
        ),
    ),
    "events_prev_7": _if(
        lambda f: f["events_7"] < f["events_prev_7"],
        lambda f: (
            _("%(now)d actions in the last 7 days against %(before)d the week before")
            % {"now": _n(f["events_7"]), "before": _n(f["events_prev_7"])}
        ),
    ),
    "longest_gap": _if(
        lambda f: f["longest_gap"] >= 1,
        _count(
            "longest_gap",
            lambda n: (
                ngettext(
                    "a gap of %(n)d day without activity", "a gap of %(n)d days without activity", n
                )
                % {"n": n}
            ),
        ),
    ),
    "longest_streak": _count(
        "longest_streak",
        lambda n: (
            ngettext(
                "longest run of active days: %(n)d day", "longest run of active days: %(n)d days", n
            )
            % {"n": n}
        ),
    ),
    "steps_completed": _count(
        "steps_completed",
        lambda n: (
            ngettext("%(n)d step done since starting", "%(n)d steps done since starting", n)
            % {"n": n}
        ),
    ),
    "steps_per_active_day": lambda f: (
        _("%(n)s steps on an active day") % {"n": f"{f['steps_per_active_day']:.1f}"}
    ),
    "steps_started": _if(
        lambda f: f["steps_started"] > 0,
        _count(
            "steps_started",
            lambda n: (
                ngettext("%(n)d step begun since starting", "%(n)d steps begun since starting", n)
                % {"n": n}
            ),
        ),
    ),
    "finish_rate": lambda f: (
        _("finishes %(share)s of the steps begun") % {"share": _pct(f["finish_rate"])}
    ),
    "steps_7": _count(
        "steps_7",
        lambda n: (
            ngettext("%(n)d step done in the last 7 days", "%(n)d steps done in the last 7 days", n)
            % {"n": n}
        ),
    ),
    "steps_prev_7": _if(
        lambda f: f["steps_7"] < f["steps_prev_7"],
        lambda f: (
            _("pace slowed: %(now)d steps in the last 7 days against %(before)d the week before")
            % {"now": _n(f["steps_7"]), "before": _n(f["steps_prev_7"])}
        ),
    ),
    "pace": lambda f: _("%(share)s of the intended pace") % {"share": _pct(f["pace"])},
    "minutes_7": _count(
        "minutes_7",
        lambda n: (
            ngettext(
                "%(n)d minute in exercises in the last 7 days",
                "%(n)d minutes in exercises in the last 7 days",
                n,
            )
            % {"n": n}
        ),
    ),
    "rating_mean": lambda f: (
        _("rates exercises %(n)s of 5 on average") % {"n": f"{f['rating_mean']:.1f}"}
    ),
    "mood_last": lambda f: _("last mood check-in %(n)d of 10") % {"n": _n(f["mood_last"])},
    "mood_change_14": _if(
        lambda f: f["mood_change_14"] < 0,
        lambda f: _("mood down %(n)d in two weeks") % {"n": -_n(f["mood_change_14"])},
    ),
    "phq9_last": lambda f: _("last PHQ-9 %(n)d") % {"n": _n(f["phq9_last"])},
    "phq9_change": _if(
        lambda f: f["phq9_change"] > 0,
        lambda f: _("last PHQ-9 up %(n)d") % {"n": _n(f["phq9_change"])},
    ),
    "gad7_last": lambda f: _("last GAD-7 %(n)d") % {"n": _n(f["gad7_last"])},
    "gad7_change": _if(
        lambda f: f["gad7_change"] > 0,
        lambda f: _("last GAD-7 up %(n)d") % {"n": _n(f["gad7_change"])},
    ),
    "safety_events": _if(
        lambda f: bool(f["safety_events"]), lambda f: _("a safety answer on record")
    ),
    "messages_sent": lambda f: (
        _("no messages to the care team")
        if f["messages_sent"] == 0
        else _count(
            "messages_sent",
            lambda n: (
                ngettext("%(n)d message to the care team", "%(n)d messages to the care team", n)
                % {"n": n}
            ),
        )(f)
    ),
    "care_team_messages_14": lambda f: (
        _("no message from the care team in the last 14 days")
        if f["care_team_messages_14"] == 0
        else _count(
            "care_team_messages_14",
            lambda n: (
                ngettext(
                    "%(n)d message from the care team in the last 14 days",
                    "%(n)d messages from the care team in the last 14 days",
                    n,
                )
                % {"n": n}
            ),
        )(f)
    ),
    "days_since_care_team": _if(
        lambda f: f["days_since_care_team"] >= 1,
        _count(
            "days_since_care_team",
            lambda n: (
                ngettext(
                    "no message from the care team for %(n)d day",
                    "no message from the care team for %(n)d days",
                    n,
                )
                % {"n": n}
            ),
        ),
    ),
    "reply_hours": lambda f: (
        _("the care team's replies took %(n)d hours (median)") % {"n": _n(f["reply_hours"])}
    ),
    "sessions_attended": _count(
        "sessions_attended",
        lambda n: (
            ngettext("%(n)d live session attended", "%(n)d live sessions attended", n) % {"n": n}
        ),
    ),
    "sessions_missed": _if(
        lambda f: bool(f["sessions_missed"]),
        _count(
            "sessions_missed",
            lambda n: (
                ngettext("%(n)d live session missed", "%(n)d live sessions missed", n) % {"n": n}
            ),
        ),
    ),
    "reminders_sent_7": lambda f: (
        _("opened %(opened)d of %(sent)d reminders in the last 7 days")
        % {"opened": _n(f["reminders_opened_7"]), "sent": _n(f["reminders_sent_7"])}
    ),
    "reminders_opened_7": lambda f: (
        _("opened %(opened)d of %(sent)d reminders in the last 7 days")
        % {"opened": _n(f["reminders_opened_7"]), "sent": _n(f["reminders_sent_7"])}
    ),
    "reminder_open_rate": lambda f: (
        _("opens %(share)s of reminders") % {"share": _pct(f["reminder_open_rate"])}
    ),
    "weekend_share": lambda f: (
        _("%(share)s of activity at weekends") % {"share": _pct(f["weekend_share"])}
    ),
    "baseline_phq9": lambda f: _("PHQ-9 %(n)d at the start") % {"n": _n(f["baseline_phq9"])},
    "baseline_gad7": lambda f: _("GAD-7 %(n)d at the start") % {"n": _n(f["baseline_gad7"])},
    "ehealth_literacy": lambda f: _("eHEALS %(n)d of 40") % {"n": _n(f["ehealth_literacy"])},
    "support_level": lambda f: [
        _("self-guided support"),
        _("coached support"),
        _("therapist-assisted support"),
    ][_n(f["support_level"])],
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
