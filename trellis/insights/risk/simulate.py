"""A simulated cohort, written straight to the interchange format, with its ground truth.

The generative model (docs/insights-simulation.md has it in full):

- Each enrollment belongs to one of five latent engagement classes, in the proportions
  SilverCloud found in 54,604 users (Chien et al. 2020): low engagers, late engagers,
  high engagers with rapid disengagement, and two high-engagement classes.
- Each day `t` (day 0 is the first 24 hours after `started_at`) a patient still in the
  program first leaves it for good with the day's hazard `h[t]`. The hazard is the class's
  hazard for that week, times the patient's own multiplier: support lowers it (coached
  0.75, therapist-assisted 0.6), and so do age, digital literacy and a lower baseline
  PHQ-9, while male sex raises it (Karyotaki et al. 2015).
- A patient still in the program is active that day with the class's probability for the
  week (times a personal factor). Trellis sends a reminder on a day with probability
  `REMINDER_P`; a patient still in opens it with the class's probability, and opening is
  itself an action. So the chance of a day with no patient-initiated event for someone
  still in is `quiet[t] = (1 - REMINDER_P * opens) * (1 - active[t])`.
- Day 0 is the getting-started day: everyone signs in and answers the baseline.
- An active day brings a sign-in, steps (viewed, started, completed, sometimes rated),
  mood check-ins, journal entries and messages; PHQ-9 and GAD-7 every two weeks on the
  first active day of the window, with scores that fall faster for the engaged; an
  occasional safety answer; weekly live sessions for therapist-assisted patients.
- A clinic discharges an enrollment after 28 days with no patient-initiated event.

The ground truth (`truth.parquet`) holds each enrollment's class, the day it left
(hidden from the log), and its daily `hazard` and `quiet` lists; `oracle_risk` turns them
into the best possible prediction for anyone who knows them and sees the same log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from trellis.engagement.interchange import ENROLLMENT_COLUMNS, OPTIONAL_ENROLLMENT_COLUMNS
from trellis.insights.risk import interchange


@dataclass(frozen=True)
class EngagementClass:
    """One latent class: its share of patients and how its members behave. Lists are by
    week (weeks 1, 2, 3, then 4 and later)."""

    name: str
    share: float
    hazard: list[float]  # chance a day of leaving for good
    activity: list[float]  # chance of an active day while still in
    completes: list[float]  # chance that a step begun is finished
    opens: float  # chance of opening a reminder
    extra_steps: float  # steps begun on an active day beyond the first (Poisson mean)
    rating: float  # mean "how helpful was this?" (1-5)
    phq9_fall: float  # PHQ-9 points a week of use


# Chien et al. 2020's shares; the behaviour is this simulator's assumption (documented).
CLASSES = [
    EngagementClass(
        "low",
        0.365,
        [0.10, 0.09, 0.08, 0.06],
        [0.40, 0.25, 0.18, 0.15],
        [0.8, 0.8, 0.8, 0.8],
        0.12,
        0.3,
        3.0,
        0.1,
    ),
    EngagementClass(
        "late",
        0.214,
        [0.025, 0.02, 0.02, 0.02],
        [0.18, 0.25, 0.40, 0.50],
        [0.25, 0.45, 0.9, 0.9],
        0.35,
        0.8,
        3.6,
        0.4,
    ),
    EngagementClass(
        "rapid",
        0.255,
        [0.01, 0.03, 0.14, 0.10],
        [0.75, 0.60, 0.40, 0.30],
        [0.85, 0.85, 0.85, 0.85],
        0.20,
        0.7,
        3.2,
        0.3,
    ),
    EngagementClass(
        "high",
        0.083,
        [0.01, 0.008, 0.007, 0.006],
        [0.65, 0.62, 0.60, 0.55],
        [0.9, 0.9, 0.9, 0.9],
        0.45,
        1.4,
        4.0,
        0.7,
    ),
    EngagementClass(
        "highest",
        0.083,
        [0.005, 0.004, 0.003, 0.003],
        [0.85, 0.82, 0.80, 0.78],
        [0.95, 0.95, 0.95, 0.95],
        0.55,
        1.8,
        4.3,
        0.8,
    ),
]
CLASS_NAMES = [c.name for c in CLASSES]
REMINDER_P = 0.4
DISCHARGE_AFTER_DAYS = 28
SUPPORT_LEVELS = ["self_guided", "coached", "therapist_assisted"]
SUPPORT_HAZARD = np.array([1.0, 0.75, 0.6])
AGE_BANDS = ["18-24", "25-34", "35-49", "50-64", "65+"]
AGE_HAZARD = np.array([1.2, 1.1, 1.0, 0.85, 0.8])
STEP_KINDS = [
    "lesson",
    "paced_breathing",
    "thought_record",
    "grounding",
    "behavioural_activation",
    "journaling",
    "mindfulness",
    "worry_time",
]
FIRST_START = datetime(2026, 1, 5, tzinfo=UTC)


def _times(seconds: np.ndarray, first: datetime) -> pl.Series:
    """Seconds after `first` as UTC times."""
    base = int(first.timestamp()) * 1_000_000
    micros = base + (np.asarray(seconds) * 1_000_000).astype(np.int64)
    return pl.Series(micros).cast(pl.Datetime("us", "UTC"))


@dataclass
class Cohort:
    events: pl.DataFrame
    enrollments: pl.DataFrame
    truth: pl.DataFrame


def _weekly(values: list[float], days: int) -> np.ndarray:
    """A class's weekly figures as one value a day (the last week's repeats)."""
    weeks = np.minimum(np.arange(days) // 7, len(values) - 1)
    return np.asarray(values)[weeks]


def simulate(
    patients: int,
    weeks: int,
    *,
    seed: int,
    start_spread_days: int = 182,
    first_start: datetime = FIRST_START,
) -> Cohort:
    """`patients` enrollments, each followed for `weeks` weeks from its start; starts are
    spread over `start_spread_days` from `first_start` (5 January 2026 unless given, in
    whole seconds)."""
    if patients < 1 or weeks < 1:
        raise ValueError("a cohort needs at least one patient and one week")
    rng = np.random.default_rng(seed)
    n, days = patients, weeks * 7
    shares = np.array([c.share for c in CLASSES])
    klass = rng.choice(len(CLASSES), size=n, p=shares / shares.sum())

    support = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])
    age = rng.choice(5, size=n, p=[0.15, 0.3, 0.3, 0.18, 0.07])
    male = rng.random(n) < 0.35
    eheals = np.clip(np.round(rng.normal(28, 6, n)), 8, 40).astype(int)
    phq_base = np.clip(np.round(rng.normal(14, 5, n)), 0, 27).astype(int)
    gad_base = np.clip(np.round(0.6 * phq_base + rng.normal(2, 3, n)), 0, 21).astype(int)

    multiplier = (
        SUPPORT_HAZARD[support]
        * AGE_HAZARD[age]
        * np.where(male, 1.2, 1.0)
        * np.exp(-0.03 * (eheals - 28))
        * np.exp(0.03 * (phq_base - 14))
        * rng.lognormal(0.0, 0.15, n)
    )
    hazard = np.stack([_weekly(c.hazard, days) for c in CLASSES])[klass]
    hazard = np.clip(hazard * multiplier[:, None], 0.0, 0.9)
    hazard[:, 0] = 0.0
    activity = np.stack([_weekly(c.activity, days) for c in CLASSES])[klass]
    activity = np.clip(activity * rng.lognormal(0.0, 0.1, n)[:, None], 0.02, 0.97)
    activity[:, 0] = 1.0
    opens = np.array([c.opens for c in CLASSES])[klass]
    quiet = (1.0 - REMINDER_P * opens)[:, None] * (1.0 - activity)
    quiet[:, 0] = 0.0

    # The day each patient leaves for good (days, if they never do): the first day whose
    # cumulative hazard passes an exponential draw.
    cumulative = np.cumsum(-np.log1p(-hazard), axis=1)
    threshold = rng.exponential(1.0, n)
    left = (cumulative >= threshold[:, None]).argmax(axis=1)
    left = np.where(cumulative[:, -1] >= threshold, left, days)
    still_in = np.arange(days)[None, :] < left[:, None]

    reminded = rng.random((n, days)) < REMINDER_P
    reminded[:, 0] = False
    opened = reminded & still_in & (rng.random((n, days)) < opens[:, None])
    active = still_in & (rng.random((n, days)) < activity)
    active[:, 0] = True
    acted = active | opened

    # Discharge after 28 days without a patient-initiated event (the day it happens).
    window = np.cumsum(acted, axis=1)
    shifted = np.concatenate([np.zeros((n, DISCHARGE_AFTER_DAYS)), window], axis=1)
    silent_28 = (window - shifted[:, :days]) == 0
    silent_28[:, :DISCHARGE_AFTER_DAYS] = False
    discharged_on = np.where(silent_28.any(axis=1), silent_28.argmax(axis=1), -1)
    open_days = np.where(discharged_on >= 0, discharged_on, days)
    in_enrollment = np.arange(days)[None, :] < open_days[:, None]
    # A discharged enrollment logs nothing more, whatever its patient would have done.
    reminded &= in_enrollment
    active &= in_enrollment
    opened &= in_enrollment

    ids = np.array([f"sim-{seed}-{i:07d}" for i in range(n)], dtype=object)
    start_seconds = rng.integers(0, start_spread_days * 86400, n)
    events = _events(
        rng,
        ids=ids,
        klass=klass,
        support=support,
        active=active,
        opened=opened,
        reminded=reminded,
        in_enrollment=in_enrollment,
        phq_base=phq_base,
        gad_base=gad_base,
        start_seconds=start_seconds,
        first_start=first_start,
    )
    started = _times(start_seconds, first_start)
    enrollments = pl.DataFrame(
        {
            "enrollment_id": ids.astype(str),
            "started_at": started,
            "support_level": np.array(SUPPORT_LEVELS)[support],
            "baseline_phq9": phq_base,
            "baseline_gad7": gad_base,
            "ended_at_days": discharged_on,
            "ehealth_literacy": eheals,
            "age_band": np.array(AGE_BANDS)[age],
            "sex": np.where(male, "male", "female"),
        }
    ).with_columns(
        ended_at=pl.when(pl.col("ended_at_days") >= 0)
        .then(pl.col("started_at") + pl.duration(days=pl.col("ended_at_days")))
        .otherwise(None),
        end_reason=pl.when(pl.col("ended_at_days") >= 0)
        .then(pl.lit("discharged"))
        .otherwise(pl.lit("")),
    )
    enrollments = enrollments.select(ENROLLMENT_COLUMNS + OPTIONAL_ENROLLMENT_COLUMNS)
    truth = pl.DataFrame(
        {
            "enrollment_id": ids.astype(str),
            "class": np.array(CLASS_NAMES)[klass],
            "left_on_day": np.where(left < days, left, -1),
            "hazard": hazard.astype(np.float32),
            "quiet": quiet.astype(np.float32),
        }
    )
    return Cohort(events=events, enrollments=enrollments, truth=truth)


def _events(
    rng: np.random.Generator,
    *,
    ids: np.ndarray,
    klass: np.ndarray,
    support: np.ndarray,
    active: np.ndarray,
    opened: np.ndarray,
    reminded: np.ndarray,
    in_enrollment: np.ndarray,
    phq_base: np.ndarray,
    gad_base: np.ndarray,
    start_seconds: np.ndarray,
    first_start: datetime,
) -> pl.DataFrame:
    """Every event of the cohort, as the interchange format's columns, oldest first for
    each enrollment."""
    days = active.shape[1]
    parts: list[dict[str, np.ndarray]] = []

    def add(
        who: np.ndarray, day: np.ndarray, second: np.ndarray, type_: str, **extra: np.ndarray
    ) -> None:
        parts.append(
            {
                "who": who,
                "day": day,
                "second": second,
                "type": np.full(len(who), type_, dtype=object),
                "step_kind": extra.get("step_kind", np.full(len(who), "", dtype=object)),
                "duration_s": extra.get("duration_s", np.full(len(who), -1)),
                "value": extra.get("value", np.full(len(who), "", dtype=object)),
            }
        )

    who, day = np.nonzero(active)
    base = rng.integers(7 * 3600, 21 * 3600, len(who))
    add(who, day, base, "login")
    # Steps: 1 + Poisson(class mean) on an active day, each viewed, started, completed.
    extra = np.array([c.extra_steps for c in CLASSES])[klass[who]]
    steps = 1 + rng.poisson(extra)
    s_who = np.repeat(who, steps)
    s_day = np.repeat(day, steps)
    s_base = np.repeat(base, steps)
    order = np.arange(len(s_who)) - np.repeat(np.cumsum(steps) - steps, steps)
    s_second = s_base + 60 + order * 900
    kind = np.array(STEP_KINDS, dtype=object)[rng.integers(0, len(STEP_KINDS), len(s_who))]
    add(s_who, s_day, s_second, "step_viewed", step_kind=kind)
    add(s_who, s_day, s_second + 5, "step_started", step_kind=kind)
    completes = np.stack([_weekly(c.completes, days) for c in CLASSES])[klass[s_who], s_day]
    done = rng.random(len(s_who)) < completes
    took = rng.integers(120, 600, len(s_who))
    add(
        s_who[done],
        s_day[done],
        (s_second + 5 + took)[done],
        "step_completed",
        step_kind=kind[done],
        duration_s=took[done],
    )
    rated = done & (rng.random(len(s_who)) < 0.5)
    mean_rating = np.array([c.rating for c in CLASSES])[klass[s_who]]
    rating = np.clip(np.round(rng.normal(mean_rating, 0.8)), 1, 5).astype(int)
    add(
        s_who[rated],
        s_day[rated],
        (s_second + 10 + took)[rated],
        "exercise_rated",
        step_kind=kind[rated],
        value=rating[rated].astype(str).astype(object),
    )

    # Symptoms: PHQ-9 falls each week by the class's rate while the patient is active.
    fall = np.array([c.phq9_fall for c in CLASSES])[klass]
    engaged_weeks = np.cumsum(active, axis=1) / 7.0 * 1.6

    def phq_on(w: np.ndarray, d: np.ndarray) -> np.ndarray:
        noise = rng.normal(0, 1.8, len(w))
        return np.clip(np.round(phq_base[w] - fall[w] * engaged_weeks[w, d] + noise), 0, 27).astype(
            int
        )

    mood = rng.random(len(who)) < 0.45
    m_score = np.clip(
        np.round(9.5 - phq_on(who[mood], day[mood]) / 3.2 + rng.normal(0, 1, mood.sum())), 1, 10
    )
    add(
        who[mood],
        day[mood],
        base[mood] + 30,
        "mood_checkin",
        value=m_score.astype(int).astype(str).astype(object),
    )
    journal = rng.random(len(who)) < 0.15
    words = rng.integers(10, 300, journal.sum())
    add(
        who[journal],
        day[journal],
        base[journal] + 3000,
        "journal_entry",
        value=words.astype(str).astype(object),
    )
    message_p = np.array([0.02, 0.12, 0.15])[support[who]]
    message = rng.random(len(who)) < message_p
    chars = rng.integers(20, 600, message.sum())
    add(
        who[message],
        day[message],
        base[message] + 3600,
        "message_sent",
        value=chars.astype(str).astype(object),
    )

    # The care team (for coached and therapist-assisted patients) answers three messages in
    # four, 4 to 30 hours later, and writes a word of its own once a week more often than not.
    asked_who, asked_day = who[message], day[message]
    supported = support[asked_who] > 0
    replied = supported & (rng.random(len(asked_who)) < 0.75)
    later = (base[message] + 3600)[replied] + rng.integers(4 * 3600, 30 * 3600, replied.sum())
    reply_who = asked_who[replied]
    reply_day = asked_day[replied] + later // 86400
    inside = reply_day < days
    inside[inside] &= in_enrollment[reply_who[inside], reply_day[inside]]
    team_who = [reply_who[inside]]
    team_day = [reply_day[inside]]
    team_second = [(later % 86400)[inside]]
    for week_day in range(7, days, 7):
        wrote = (support > 0) & in_enrollment[:, week_day] & (rng.random(len(support)) < 0.6)
        team_who.append(np.nonzero(wrote)[0])
        team_day.append(np.full(int(wrote.sum()), week_day))
        team_second.append(np.full(int(wrote.sum()), 11 * 3600))
    t_who, t_day = np.concatenate(team_who), np.concatenate(team_day)
    add(
        t_who,
        t_day,
        np.concatenate(team_second),
        "care_team_message",
        value=rng.integers(40, 500, len(t_who)).astype(str).astype(object),
    )

    # Reminders: sent by Trellis (not the patient's action), opened by the patient.
    r_who, r_day = np.nonzero(reminded)
    r_second = np.full(len(r_who), 9 * 3600)
    add(r_who, r_day, r_second, "reminder_sent", value=np.full(len(r_who), "email", dtype=object))
    o_who, o_day = np.nonzero(opened)
    add(
        o_who,
        o_day,
        r_second[: len(o_who)] + rng.integers(60, 3600, len(o_who)),
        "reminder_opened",
        value=np.full(len(o_who), "email", dtype=object),
    )

    # Questionnaires every 14 days: the first active day of each window answers both.
    for due in range(0, days, 14):
        window = active[:, due : min(due + 7, days)]
        answered = window.any(axis=1)
        q_who = np.nonzero(answered)[0]
        q_day = due + window[answered].argmax(axis=1)
        q_second = base_second = rng.integers(8 * 3600, 20 * 3600, len(q_who))
        phq = phq_base[q_who] if due == 0 else phq_on(q_who, q_day)
        gad = (
            gad_base[q_who]
            if due == 0
            else np.clip(
                np.round(
                    gad_base[q_who] * phq / np.maximum(phq_base[q_who], 1)
                    + rng.normal(0, 1.2, len(q_who))
                ),
                0,
                21,
            ).astype(int)
        )
        add(
            q_who,
            q_day,
            q_second,
            "questionnaire_submitted",
            step_kind=np.full(len(q_who), "questionnaire", dtype=object),
            value=np.char.add("PHQ-9:", phq.astype(str)).astype(object),
        )
        add(
            q_who,
            q_day,
            base_second + 120,
            "questionnaire_submitted",
            step_kind=np.full(len(q_who), "questionnaire", dtype=object),
            value=np.char.add("GAD-7:", gad.astype(str)).astype(object),
        )
        item9 = (phq >= 15) & (rng.random(len(q_who)) < 0.12)
        add(
            q_who[item9],
            q_day[item9],
            q_second[item9] + 1,
            "safety_event",
            value=np.full(item9.sum(), "1", dtype=object),
        )

    # Live sessions for therapist-assisted patients each week: attended on an active day.
    therapist = np.nonzero(support == 2)[0]
    for week_day in range(7, days, 7):
        came = active[therapist, week_day]
        add(
            therapist[came],
            np.full(came.sum(), week_day),
            np.full(came.sum(), 15 * 3600),
            "appointment_attended",
            duration_s=np.full(came.sum(), 1800),
            value=np.full(came.sum(), "30", dtype=object),
        )

    columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    offset = (
        start_seconds[columns["who"]]
        + columns["day"] * 86400
        + np.minimum(columns["second"], 86399)
    )
    order = np.lexsort((offset, columns["who"]))
    return pl.DataFrame(
        {
            "enrollment_id": ids[columns["who"][order]].astype(str),
            "occurred_at": _times(offset[order], first_start),
            "type": columns["type"][order].astype(str),
            "step_kind": columns["step_kind"][order].astype(str),
            "duration_s": pl.Series(columns["duration_s"][order]).replace(-1, None),
            "value": columns["value"][order].astype(str),
        }
    )


def write(cohort: Cohort, out: Path, *, fmt: str = "parquet") -> dict[str, Path]:
    """The cohort's events, enrollments and ground truth in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "events": interchange.write(cohort.events, out / f"events.{fmt}"),
        "enrollments": interchange.write(cohort.enrollments, out / f"enrollments.{fmt}"),
    }
    truth = out / "truth.parquet"
    cohort.truth.write_parquet(truth)
    written["truth"] = truth
    return written


def oracle_risk(
    truth: pl.DataFrame, last_acted_day: np.ndarray, as_of_day: int, horizon: int = 14
) -> np.ndarray:
    """The best prediction for someone who knows each enrollment's daily hazard and quiet
    chance and sees the same log: the chance of no patient-initiated event in the
    `horizon` days after day `as_of_day` ends, given the last day with one.

    The patient was certainly still in on `last_acted_day`; the silent days since then
    weigh staying in (quiet each day) against having left on one of them; then the next
    `horizon` days are silent if they leave before acting or stay quiet throughout.
    """
    hazard = np.asarray(truth["hazard"].to_list(), dtype=np.float64)
    quiet = np.asarray(truth["quiet"].to_list(), dtype=np.float64)
    n, days = hazard.shape
    if as_of_day + horizon > days:
        raise ValueError("the cohort does not reach that far")
    stay = (1.0 - hazard) * quiet  # in, and silent, that day
    since = np.asarray(last_acted_day)[:, None] + 1
    past = np.arange(as_of_day)[None, :] >= since
    kept = np.cumprod(np.where(past, stay[:, :as_of_day], 1.0), axis=1)
    before = np.concatenate([np.ones((n, 1)), kept[:, :-1]], axis=1)
    gone = np.where(past, before * hazard[:, :as_of_day], 0.0).sum(axis=1)
    alive = kept[:, -1] if as_of_day > 0 else np.ones(n)
    total = alive + gone
    p_in = np.divide(alive, total, out=np.zeros(n), where=total > 0)
    ahead = stay[:, as_of_day : as_of_day + horizon]
    kept_ahead = np.cumprod(ahead, axis=1)
    before_ahead = np.concatenate([np.ones((n, 1)), kept_ahead[:, :-1]], axis=1)
    silent_ahead = (before_ahead * hazard[:, as_of_day : as_of_day + horizon]).sum(axis=1)
    silent_ahead += kept_ahead[:, -1]
    return (1.0 - p_in) + p_in * silent_ahead
