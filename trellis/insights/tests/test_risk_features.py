"""What the event log says about an enrollment at the end of day D, and whether it then
went quiet for 14 days: every figure counted by hand on a log written out below."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from trellis.insights.risk import features
from trellis.insights.tests.risk_frames import at, enrollment, enrollments, event, events

BLAIR_START = at(5, 6)  # Saturday 7 March 2026, 06:00 UTC


def blair_at(day: float) -> Any:
    return at(day, start=BLAIR_START)


# Alex (coached, PHQ-9 15 at the start) and Blair (self-guided, no baseline), day by day.
LOG = events(
    [
        # Alex, day 0 (Monday): signs in, finishes a lesson, rates it, answers both.
        event("alex", at(0, 9), "login"),
        event("alex", at(0, 9.1), "step_started", step_kind="lesson"),
        event("alex", at(0, 9.3), "step_completed", step_kind="lesson", duration_s=600),
        event("alex", at(0, 9.4), "exercise_rated", "4", step_kind="lesson"),
        event("alex", at(0, 10), "questionnaire_submitted", "PHQ-9:14", step_kind="questionnaire"),
        event("alex", at(0, 10.1), "questionnaire_submitted", "GAD-7:8", step_kind="questionnaire"),
        # Day 1: signs in and checks in a mood of 8; a reminder goes out in the evening.
        event("alex", at(1, 9), "login"),
        event("alex", at(1, 9.5), "mood_checkin", "8"),
        event("alex", at(1, 20), "reminder_sent", "email"),
        # Day 2: begins two steps and finishes one.
        event("alex", at(2, 9), "login"),
        event("alex", at(2, 9.1), "step_started", step_kind="grounding"),
        event("alex", at(2, 9.2), "step_started", step_kind="journaling"),
        event("alex", at(2, 9.5), "step_completed", step_kind="grounding", duration_s=300),
        # Days 3 and 4: only what Trellis and the supporter write; Alex does nothing.
        event("alex", at(3, 9), "reminder_sent", "email"),
        event("alex", at(4, 9), "questionnaire_due"),
        event("alex", at(4, 10), "safety_event", "1"),
        event("alex", at(4, 15), "appointment_missed"),
        # Day 7 (Monday): a finished step of 15 minutes, rated 2, and a mood of 6.
        event("alex", at(7, 9), "login"),
        event("alex", at(7, 9.1), "step_started", step_kind="thought_record"),
        event("alex", at(7, 9.4), "step_completed", step_kind="thought_record", duration_s=900),
        event("alex", at(7, 9.5), "exercise_rated", "2", step_kind="thought_record"),
        event("alex", at(7, 10), "mood_checkin", "6"),
        # Day 8: opens a reminder and answers both; the last action is at noon.
        event("alex", at(8, 9), "reminder_sent", "email"),
        event("alex", at(8, 10), "reminder_opened", "email"),
        event("alex", at(8, 11), "questionnaire_submitted", "PHQ-9:9", step_kind="questionnaire"),
        event("alex", at(8, 12), "questionnaire_submitted", "GAD-7:11", step_kind="questionnaire"),
        # Day 9: a reminder Alex does not open.
        event("alex", at(9, 9), "reminder_sent", "email"),
        # The very moment day 10 ends, and the day after: not seen at the end of day 10.
        event("alex", at(10), "login"),
        event("alex", at(11, 9), "mood_checkin", "1"),
        # Blair starts on a Saturday: four of seven actions fall on the weekend.
        event("blair", blair_at(0.1), "login"),
        event("blair", blair_at(0.2), "questionnaire_submitted", "PHQ-9:12"),
        event("blair", blair_at(1.5), "journal_entry", "40"),
        event("blair", blair_at(1.6), "message_sent", "120"),
        event("blair", blair_at(5.4), "appointment_attended", "30", duration_s=1800),
        event("blair", blair_at(6.5), "mood_checkin", "5"),  # Friday, 18:00
        event("blair", blair_at(9.25), "questionnaire_submitted", "PHQ-9:15"),
    ]
)
PEOPLE = enrollments(
    enrollment(
        "alex",
        support_level="coached",
        baseline_phq9=15,
        age_band="25-34",
        sex="female",
    ),
    enrollment("blair", started_at=BLAIR_START, support_level="self_guided", sex="male"),
    # Casey ended during day 9: not scored at the end of day 10.
    enrollment("casey", ended_at=at(9), end_reason="withdrawn"),
    # Drew never did anything and ends an hour after day 10 does: scored, never active.
    enrollment("drew", ended_at=at(10, 1), end_reason="discharged"),
)


def row(frame: pl.DataFrame, enrollment_id: str) -> dict[str, Any]:
    found = frame.filter(pl.col("enrollment_id") == enrollment_id)
    assert found.height == 1, f"{enrollment_id} scored {found.height} times"
    return found.row(0, named=True)


@pytest.fixture(scope="module")
def day_10() -> pl.DataFrame:
    return features.at_day(LOG, PEOPLE, 10)


def test_at_day_has_one_row_per_enrollment_in_the_program_with_every_feature(
    day_10: pl.DataFrame,
) -> None:
    assert day_10.columns == ["enrollment_id", *features.NAMES]
    assert sorted(day_10["enrollment_id"]) == ["alex", "blair", "drew"]
    assert all(day_10[name].dtype == pl.Float64 for name in features.NAMES)


def test_alex_activity_at_the_end_of_day_10(day_10: pl.DataFrame) -> None:
    alex = row(day_10, "alex")
    assert alex["as_of_day"] == 10
    # Last action at noon on day 8; the login at the very end of day 10 is not seen.
    assert alex["days_since_active"] == pytest.approx(1.5)
    assert alex["never_active"] == 0
    assert alex["active_days"] == 5  # days 0, 1, 2, 7, 8
    assert alex["active_days_3"] == 2  # days 7 and 8
    assert alex["active_days_7"] == 2
    assert alex["active_days_14"] == 5
    assert alex["events_3"] == 8  # 5 on day 7, 3 on day 8
    assert alex["events_7"] == 8
    assert alex["events_prev_7"] == 12  # 6 on day 0, 2 on day 1, 4 on day 2
    assert alex["longest_gap"] == 4  # days 3 to 6
    assert alex["longest_streak"] == 3  # days 0 to 2


def test_alex_steps_pace_and_minutes_at_the_end_of_day_10(day_10: pl.DataFrame) -> None:
    alex = row(day_10, "alex")
    assert alex["steps_completed"] == 3
    assert alex["steps_started"] == 4
    assert alex["finish_rate"] == pytest.approx(0.75)
    assert alex["steps_per_active_day"] == pytest.approx(3 / 5)
    assert alex["steps_7"] == 1  # day 7
    assert alex["steps_prev_7"] == 2  # days 0 and 2
    # 3 steps in 10/7 weeks against 3 a week.
    assert alex["pace"] == pytest.approx(0.7)
    assert alex["minutes_7"] == pytest.approx(15.0)
    assert alex["rating_mean"] == pytest.approx(3.0)


def test_alex_symptoms_and_mood_at_the_end_of_day_10(day_10: pl.DataFrame) -> None:
    alex = row(day_10, "alex")
    assert alex["mood_last"] == 6  # the mood of 1 on day 11 is not seen
    assert alex["mood_change_14"] == -2
    assert alex["phq9_last"] == 9
    assert alex["phq9_change"] == -6  # against the enrollment's baseline, 15, not the 14
    assert alex["gad7_last"] == 11
    assert alex["gad7_change"] == 3  # no baseline: against the first GAD-7, 8


def test_alex_what_trellis_wrote_and_who_alex_is(day_10: pl.DataFrame) -> None:
    alex = row(day_10, "alex")
    assert alex["safety_events"] == 1
    assert alex["sessions_missed"] == 1
    assert alex["sessions_attended"] == 0
    assert alex["messages_sent"] == 0
    assert alex["reminders_sent_7"] == 3  # days 3, 8 and 9; day 1's is older
    assert alex["reminders_opened_7"] == 1
    assert alex["reminder_open_rate"] == pytest.approx(1 / 4)
    assert alex["weekend_share"] == 0
    assert alex["support_level"] == features.SUPPORT_CODES["coached"]
    assert alex["baseline_phq9"] == 15
    assert alex["baseline_gad7"] is None
    assert alex["ehealth_literacy"] is None
    assert alex["age_band"] == features.AGE_CODES["25-34"]
    assert alex["sex"] == features.SEX_CODES["female"]


def test_blair_weekend_share_gaps_and_score_change_without_a_baseline(
    day_10: pl.DataFrame,
) -> None:
    blair = row(day_10, "blair")
    assert blair["days_since_active"] == pytest.approx(0.75)
    assert blair["active_days"] == 5  # days 0, 1, 5, 6, 9
    assert blair["longest_gap"] == 3  # days 2 to 4
    assert blair["longest_streak"] == 2
    assert blair["weekend_share"] == pytest.approx(4 / 7)
    assert blair["phq9_last"] == 15
    assert blair["phq9_change"] == 3  # against the first PHQ-9, 12
    assert blair["messages_sent"] == 1
    assert blair["sessions_attended"] == 1
    assert blair["steps_per_active_day"] == 0
    assert blair["pace"] == 0
    assert blair["finish_rate"] is None
    assert blair["reminder_open_rate"] is None  # no reminder sent: no rate
    assert blair["support_level"] == features.SUPPORT_CODES["self_guided"]
    assert blair["sex"] == features.SEX_CODES["male"]
    assert blair["age_band"] is None  # not known


def test_an_enrollment_without_any_action_is_never_active(day_10: pl.DataFrame) -> None:
    drew = row(day_10, "drew")
    assert drew["never_active"] == 1
    assert drew["days_since_active"] == 11
    assert drew["longest_gap"] == 10
    assert drew["active_days"] == 0
    assert drew["events_7"] == 0
    assert drew["longest_streak"] == 0
    assert drew["phq9_last"] is None


@pytest.mark.parametrize(
    ("active_on", "gap", "streak"),
    [
        (list(range(10)), 0, 10),  # every day: no gap at all
        ([3, 4], 5, 2),  # days 5 to 9, after the last action
        ([6, 7, 8, 9], 6, 4),  # days 0 to 5, before the first
        ([0, 5, 9], 4, 1),  # days 1 to 4, between two actions
    ],
)
def test_longest_gap_counts_days_without_activity(
    active_on: list[int], gap: int, streak: int
) -> None:
    log = events([event("gale", at(day, 12), "login") for day in active_on])
    gale = row(features.at_day(log, enrollments(enrollment("gale")), 10), "gale")
    assert (gale["longest_gap"], gale["longest_streak"]) == (gap, streak)


def test_events_at_or_after_the_end_of_day_d_are_not_seen() -> None:
    day_11 = row(features.at_day(LOG, PEOPLE, 11), "alex")
    assert day_11["days_since_active"] == pytest.approx(1.0)  # the login at day 10's end
    assert day_11["mood_last"] == 6  # day 11's mood comes at 09:00 on day 11
    day_12 = row(features.at_day(LOG, PEOPLE, 12), "alex")
    assert day_12["mood_last"] == 1


def test_the_week_before_the_last_is_days_d_minus_14_to_d_minus_8() -> None:
    alex = row(features.at_day(LOG, PEOPLE, 14), "alex")
    assert alex["events_7"] == 10  # days 7 to 13: 5 + 3 on days 7 and 8, then 1 and 1
    assert alex["events_prev_7"] == 12  # days 0 to 6
    assert alex["steps_7"] == 1
    assert alex["steps_prev_7"] == 2


def test_an_enrollment_ended_by_the_end_of_day_d_is_not_scored() -> None:
    assert "casey" in features.at_day(LOG, PEOPLE, 8)["enrollment_id"].to_list()
    # Casey ended at the very moment day 9 ends.
    assert "casey" not in features.at_day(LOG, PEOPLE, 9)["enrollment_id"].to_list()
    assert "drew" not in features.at_day(LOG, PEOPLE, 11)["enrollment_id"].to_list()


def test_what_trellis_writes_on_its_own_is_not_activity() -> None:
    people = enrollments(enrollment("emery"))
    log = events(
        [
            event("emery", at(1, 9), "reminder_sent", "sms"),
            event("emery", at(2, 9), "questionnaire_due"),
            event("emery", at(3, 9), "safety_event", "2"),
            event("emery", at(4, 9), "appointment_missed"),
        ]
    )
    emery = row(features.at_day(log, people, 7), "emery")
    assert emery["never_active"] == 1
    assert emery["active_days"] == 0
    assert emery["events_7"] == 0
    assert emery["days_since_active"] == 8
    assert emery["safety_events"] == 1
    assert emery["sessions_missed"] == 1
    assert emery["reminder_open_rate"] == 0


def test_the_order_of_the_rows_in_the_file_does_not_change_the_features(
    day_10: pl.DataFrame,
) -> None:
    """The latest mood and questionnaire are the latest in time, not the last in the file."""
    shuffled = features.at_day(LOG.reverse(), PEOPLE, 10)
    assert_frame_equal(shuffled.sort("enrollment_id"), day_10.sort("enrollment_id"))
    assert row(shuffled, "alex")["mood_last"] == 6
    assert row(shuffled, "alex")["phq9_change"] == -6


# Labels at day 7: the window is days 7 to 20 (t in [7, 21)); the data end at day 40.
LABEL_LOG = events(
    [
        event("alex", at(20, 23), "login"),  # late in the window's last day: not dropped
        event("blair", at(6, 23), "login"),  # before the window
        event("blair", at(10, 9), "reminder_sent", "email"),  # Trellis's, not Blair's
        event("blair", at(12, 9), "questionnaire_due"),
        event("blair", at(13, 9), "safety_event", "1"),
        event("blair", at(14, 9), "appointment_missed"),
        event("blair", at(21), "login"),  # the moment the window closes: too late
        event("casey", at(7), "login"),  # the moment the window opens: counts
        event("alex", at(40), "login"),  # the last event in the file
    ]
)
LABEL_PEOPLE = enrollments(
    enrollment("alex"),
    enrollment("blair"),
    enrollment("casey"),
    enrollment("emery", started_at=at(19)),  # its window closes at day 40: covered
    enrollment("drew", started_at=at(20)),  # its window closes after the data end
    enrollment("finn", ended_at=at(5), end_reason="withdrawn"),  # not in at day 7
)


def test_labels_mark_who_did_nothing_in_the_14_days_after_day_d() -> None:
    found = features.labels(LABEL_LOG, LABEL_PEOPLE, 7)
    assert dict(found.sort("enrollment_id").iter_rows()) == {
        "alex": 0,
        "blair": 1,
        "casey": 0,
        "emery": 1,
    }


def test_labels_leave_out_enrollments_whose_window_the_data_do_not_cover() -> None:
    found = features.labels(LABEL_LOG, LABEL_PEOPLE, 7)["enrollment_id"].to_list()
    assert "drew" not in found
    assert "finn" not in found
    # No window of day 27 (to day 41 after the start) closes by day 40.
    assert features.labels(LABEL_LOG, LABEL_PEOPLE, 27).height == 0


def test_labels_of_an_empty_log_are_empty() -> None:
    found = features.labels(events([]), LABEL_PEOPLE, 7)
    assert found.height == 0
    assert found.columns == ["enrollment_id", "dropped"]


def test_last_acted_day_is_the_last_day_with_a_patient_initiated_event() -> None:
    found = features.last_acted_day(LOG, PEOPLE, 10)
    assert dict(found.sort("enrollment_id").iter_rows()) == {"alex": 8, "blair": 9}
