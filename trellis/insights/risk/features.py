"""What the event log says about each enrollment at the end of day D, and the label.

Everything is set-based (polars expressions over all enrollments at once, no loop per
patient). Day D of an enrollment ends at `started_at + D days`; features see only events
before that moment. An enrollment is scored at day D when it has not ended by then.

The label (`dropped`) is 1 when the enrollment has no patient-initiated event in the 14
days after day D ends, and is known only when the data reach that far (the latest event
in the file is after the window's end).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from trellis.engagement.models import PATIENT_INITIATED

HORIZON_DAYS = 14
DAY_US = 86_400 * 1_000_000
# The dose patients are told, in steps a week. The interchange format carries no program's
# own pace, so every enrollment is measured against this one (docs/insights-risk.md); the
# clinic's reports use each program's intended use.
INTENDED_STEPS_PER_WEEK = 3.0
SUPPORT_CODES = {"self_guided": 0, "coached": 1, "therapist_assisted": 2}
AGE_CODES = {"18-24": 0, "25-34": 1, "35-49": 2, "50-64": 3, "65+": 4}
SEX_CODES = {"female": 0, "male": 1}

# The model's inputs, in order (docs/insights-risk.md describes each).
NAMES = [
    "as_of_day",
    "days_since_active",
    "never_active",
    "active_days",
    "active_days_3",
    "active_days_7",
    "active_days_14",
    "events_3",
    "events_7",
    "events_prev_7",
    "longest_gap",
    "longest_streak",
    "steps_completed",
    "steps_per_active_day",
    "steps_started",
    "finish_rate",
    "steps_7",
    "steps_prev_7",
    "pace",
    "minutes_7",
    "rating_mean",
    "mood_last",
    "mood_change_14",
    "phq9_last",
    "phq9_change",
    "gad7_last",
    "gad7_change",
    "safety_events",
    "messages_sent",
    "care_team_messages_14",
    "days_since_care_team",
    "reply_hours",
    "sessions_attended",
    "sessions_missed",
    "reminders_sent_7",
    "reminders_opened_7",
    "reminder_open_rate",
    "weekend_share",
    "support_level",
    "baseline_phq9",
    "baseline_gad7",
    "ehealth_literacy",
    "age_band",
    "sex",
]


def _since_start(events: pl.DataFrame, enrollments: pl.DataFrame) -> pl.LazyFrame:
    """Events joined to their enrollment's start, with `t`: days since the start, oldest
    first (the latest mood or score is the latest in time, whatever the file's order and
    the join's)."""
    return (
        events.lazy()
        .join(enrollments.lazy().select("enrollment_id", "started_at"), on="enrollment_id")
        .with_columns(
            t=(pl.col("occurred_at") - pl.col("started_at")).dt.total_microseconds() / DAY_US,
            patient=pl.col("type").is_in(list(PATIENT_INITIATED)),
        )
        .sort("enrollment_id", "occurred_at", maintain_order=True)
    )


def scored(enrollments: pl.DataFrame, as_of_day: int) -> pl.DataFrame:
    """The enrollments scored at day D: started, and not ended when day D ends."""
    end_of_day = pl.col("started_at") + pl.duration(days=as_of_day)
    return enrollments.filter(pl.col("ended_at").is_null() | (pl.col("ended_at") > end_of_day))


def _score(type_: str) -> pl.Expr:
    """The total of a `questionnaire_submitted` event of one instrument (PHQ-9:14)."""
    value = pl.col("value")
    return (
        pl.when((pl.col("type") == "questionnaire_submitted") & value.str.starts_with(type_ + ":"))
        .then(value.str.split(":").list.last().cast(pl.Int64, strict=False))
        .otherwise(None)
    )


def at_day(events: pl.DataFrame, enrollments: pl.DataFrame, as_of_day: int) -> pl.DataFrame:
    """One row per enrollment scored at day `as_of_day`: `enrollment_id` and NAMES."""
    d = float(as_of_day)
    people = scored(enrollments, as_of_day)
    seen = _since_start(events, people).filter((pl.col("t") < d) & (pl.col("t") >= -1.0))
    mine = seen.filter(pl.col("patient"))
    day = pl.col("t").floor().cast(pl.Int64)
    last_7 = pl.col("t") >= d - 7
    prev_7 = (pl.col("t") >= d - 14) & (pl.col("t") < d - 7)
    typ = pl.col("type")

    activity = mine.group_by("enrollment_id").agg(
        last_t=pl.col("t").max(),
        active_days=day.n_unique(),
        active_days_3=day.filter(pl.col("t") >= d - 3).n_unique(),
        active_days_7=day.filter(last_7).n_unique(),
        active_days_14=day.filter(pl.col("t") >= d - 14).n_unique(),
        events_3=(pl.col("t") >= d - 3).sum(),
        events_7=last_7.sum(),
        events_prev_7=prev_7.sum(),
        steps_completed=(typ == "step_completed").sum(),
        # A step finished without a recorded start (an older app) counts as begun too.
        steps_started=pl.max_horizontal(
            (typ == "step_started").sum(), (typ == "step_completed").sum()
        ),
        steps_7=((typ == "step_completed") & last_7).sum(),
        steps_prev_7=((typ == "step_completed") & prev_7).sum(),
        minutes_7=pl.col("duration_s").filter((typ == "step_completed") & last_7).sum() / 60.0,
        rating_mean=pl.col("value")
        .filter(typ == "exercise_rated")
        .cast(pl.Float64, strict=False)
        .mean(),
        mood_last=pl.col("value")
        .filter(typ == "mood_checkin")
        .cast(pl.Float64, strict=False)
        .last(),
        mood_first_14=pl.col("value")
        .filter((typ == "mood_checkin") & (pl.col("t") >= d - 14))
        .cast(pl.Float64, strict=False)
        .first(),
        phq9_first=_score("PHQ-9").drop_nulls().first(),
        phq9_last=_score("PHQ-9").drop_nulls().last(),
        gad7_first=_score("GAD-7").drop_nulls().first(),
        gad7_last=_score("GAD-7").drop_nulls().last(),
        messages_sent=(typ == "message_sent").sum(),
        sessions_attended=(typ == "appointment_attended").sum(),
        reminders_opened=(typ == "reminder_opened").sum(),
        reminders_opened_7=((typ == "reminder_opened") & last_7).sum(),
        weekend_share=(pl.col("occurred_at").dt.weekday() >= 6).mean(),
    )
    # Gaps and streaks from the distinct active days (day -1, before the start, counts as
    # day 0). A gap is the days without activity: between two active days, before the
    # first, and after the last up to the end of day D.
    days = (
        mine.select("enrollment_id", day.clip(lower_bound=0).alias("day"))
        .unique()
        .sort("enrollment_id", "day")
        .with_columns(gap=pl.col("day").diff().over("enrollment_id"))
        .with_columns(run=(pl.col("gap") != 1).fill_null(True).cum_sum().over("enrollment_id"))
    )
    gaps = days.group_by("enrollment_id").agg(
        longest_gap=pl.max_horizontal(
            (pl.col("gap").max() - 1).fill_null(0),
            d - 1 - pl.col("day").max(),
            pl.col("day").min(),
        ),
        longest_streak=pl.col("run").value_counts().struct.field("count").max(),
    )
    trellis_side = (
        seen.filter(~pl.col("patient"))
        .group_by("enrollment_id")
        .agg(
            safety_events=(typ == "safety_event").sum(),
            sessions_missed=(typ == "appointment_missed").sum(),
            reminders_sent=(typ == "reminder_sent").sum(),
            reminders_sent_7=((typ == "reminder_sent") & last_7).sum(),
            care_team_messages_14=((typ == "care_team_message") & (pl.col("t") >= d - 14)).sum(),
            last_care_team_t=pl.col("t").filter(typ == "care_team_message").max(),
        )
    )
    # How long the care team took to answer: from each message of the patient to the next
    # message of the care team (before the end of day D), the median in hours.
    asked = seen.filter(typ == "message_sent").select("enrollment_id", "t").sort("t")
    answered = (
        seen.filter(typ == "care_team_message")
        .select("enrollment_id", pl.col("t").alias("reply_t"))
        .sort("reply_t")
    )
    replies = (
        asked.join_asof(
            answered,
            left_on="t",
            right_on="reply_t",
            by="enrollment_id",
            strategy="forward",
            check_sortedness=False,  # sorted by time above, so within each enrollment too
        )
        .filter(pl.col("reply_t").is_not_null())
        .group_by("enrollment_id")
        .agg(reply_hours=((pl.col("reply_t") - pl.col("t")) * 24.0).median())
    )
    zero = pl.lit(0)
    frame = (
        people.lazy()
        .join(activity, on="enrollment_id", how="left")
        .join(gaps, on="enrollment_id", how="left")
        .join(trellis_side, on="enrollment_id", how="left")
        .join(replies, on="enrollment_id", how="left")
        .with_columns(
            as_of_day=pl.lit(as_of_day, dtype=pl.Int64),
            days_since_active=(d - pl.col("last_t")).fill_null(d + 1.0),
            days_since_care_team=d - pl.col("last_care_team_t"),
            never_active=pl.col("last_t").is_null().cast(pl.Int64),
            steps_per_active_day=pl.col("steps_completed") / pl.col("active_days"),
            finish_rate=pl.when(pl.col("steps_started") > 0)
            .then(pl.col("steps_completed") / pl.col("steps_started"))
            .otherwise(None),
            pace=(pl.col("steps_completed").fill_null(0) / (d / 7.0) / INTENDED_STEPS_PER_WEEK),
            mood_change_14=pl.col("mood_last") - pl.col("mood_first_14"),
            phq9_change=pl.col("phq9_last")
            - pl.coalesce(pl.col("baseline_phq9"), pl.col("phq9_first")),
            gad7_change=pl.col("gad7_last")
            - pl.coalesce(pl.col("baseline_gad7"), pl.col("gad7_first")),
            reminder_open_rate=pl.when(pl.col("reminders_sent").fill_null(0) > 0)
            .then(pl.col("reminders_opened").fill_null(0) / pl.col("reminders_sent"))
            .otherwise(None),
            longest_gap=pl.col("longest_gap").fill_null(d),
            support_level=pl.col("support_level").replace_strict(
                SUPPORT_CODES, default=None, return_dtype=pl.Int64
            ),
            age_band=pl.col("age_band").replace_strict(
                AGE_CODES, default=None, return_dtype=pl.Int64
            ),
            sex=pl.col("sex").replace_strict(SEX_CODES, default=None, return_dtype=pl.Int64),
        )
        .with_columns(
            [
                pl.col(c).fill_null(zero)
                for c in (
                    "active_days",
                    "active_days_3",
                    "active_days_7",
                    "active_days_14",
                    "events_3",
                    "events_7",
                    "events_prev_7",
                    "longest_streak",
                    "steps_completed",
                    "steps_started",
                    "steps_7",
                    "steps_prev_7",
                    "minutes_7",
                    "safety_events",
                    "messages_sent",
                    "care_team_messages_14",
                    "sessions_attended",
                    "sessions_missed",
                    "reminders_sent_7",
                    "reminders_opened_7",
                )
            ]
        )
        .select("enrollment_id", *[pl.col(n).cast(pl.Float64) for n in NAMES])
    )
    return frame.collect()


def data_end(events: pl.DataFrame) -> datetime | None:
    """The latest moment the log covers: its last event."""
    end = events["occurred_at"].max()
    return end if isinstance(end, datetime) else None


def labels(events: pl.DataFrame, enrollments: pl.DataFrame, as_of_day: int) -> pl.DataFrame:
    """For each enrollment scored at day D whose next 14 days the data cover:
    `dropped` = 1 if it has no patient-initiated event in them, else 0."""
    d = float(as_of_day)
    end = data_end(events)
    if end is None:
        return pl.DataFrame(schema={"enrollment_id": pl.String, "dropped": pl.Int32})
    people = scored(enrollments, as_of_day).filter(
        pl.col("started_at") + pl.duration(days=as_of_day + HORIZON_DAYS) <= pl.lit(end)
    )
    acted = (
        _since_start(events, people)
        .filter(pl.col("patient") & (pl.col("t") >= d) & (pl.col("t") < d + HORIZON_DAYS))
        .select("enrollment_id")
        .unique()
        .with_columns(acted=pl.lit(1))
    )
    return (
        people.lazy()
        .select("enrollment_id")
        .join(acted, on="enrollment_id", how="left")
        .select("enrollment_id", dropped=1 - pl.col("acted").fill_null(0))
        .collect()
    )


def last_acted_day(events: pl.DataFrame, enrollments: pl.DataFrame, as_of_day: int) -> pl.DataFrame:
    """The last day (0 = the first) with a patient-initiated event before day D ends."""
    return (
        _since_start(events, scored(enrollments, as_of_day))
        .filter(pl.col("patient") & (pl.col("t") < float(as_of_day)) & (pl.col("t") >= 0))
        .group_by("enrollment_id")
        .agg(last_day=pl.col("t").floor().cast(pl.Int64).max())
        .collect()
    )
