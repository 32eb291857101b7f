"""The reports' pure computations against values worked out by hand: Kaplan-Meier with its
Greenwood band, engagement in five elements, reply-time summaries, the phenotype naming
rule, and small-cell suppression with pseudonyms."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from trellis.insights.reports import engagement, phenotypes, privacy, retention, workload
from trellis.insights.reports.cohort import EnrollmentRow, EventRow, active_days, build
from trellis.insights.reports.tables import Column, Kind, Table

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_kaplan_meier_matches_the_hand_worked_example_with_censoring() -> None:
    # Six patients: times 1, 2, 2, 3, 4, 5 days; the second 2 and the 4 are censored.
    # t=1: n=6, d=1 -> S = 5/6;  t=2: n=5, d=1 -> S = 5/6 * 4/5 = 2/3
    # t=3: n=3, d=1 -> S = 2/3 * 2/3 = 4/9;  t=4: censored, S stays 4/9;  t=5: n=1, d=1 -> 0
    curve = retention.kaplan_meier(np.array([1, 2, 2, 3, 4, 5]), np.array([1, 1, 0, 1, 0, 1]))
    assert curve.times.tolist() == [0, 1, 2, 3, 4, 5]
    assert curve.survival == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0])
    assert curve.at_risk.tolist() == [6, 6, 5, 3, 2, 1]
    assert curve.events.tolist() == [0, 1, 1, 1, 0, 1]
    assert curve.censored.tolist() == [0, 0, 1, 0, 1, 0]
    # Greenwood: sums 1/30, 1/30 + 1/20 = 1/12, 1/12 + 1/6 = 1/4.
    se1 = (5 / 6) * math.sqrt(1 / 30)  # 0.15215
    se2 = (2 / 3) * math.sqrt(1 / 12)  # 0.19245
    se3 = (4 / 9) * math.sqrt(1 / 4)  # 0.22222
    z = 1.959964
    assert curve.lower[1] == pytest.approx(5 / 6 - z * se1, abs=1e-5)  # 0.5351
    assert curve.upper[1] == 1.0  # 1.1315, clipped
    assert curve.lower[2] == pytest.approx(2 / 3 - z * se2, abs=1e-5)  # 0.2895
    assert curve.lower[3] == pytest.approx(4 / 9 - z * se3, abs=1e-5)  # 0.0089
    assert curve.upper[3] == pytest.approx(4 / 9 + z * se3, abs=1e-5)  # 0.8800
    assert (curve.lower[5], curve.upper[5]) == (0.0, 0.0)  # S reached 0: no variance
    # Read at a day: the step's value, and how many were still followed.
    assert curve.at(2) == pytest.approx((2 / 3, 0.2895, 1.0, 5), abs=1e-4)
    assert curve.at(4)[0] == pytest.approx(4 / 9)
    assert curve.at(4)[3] == 2
    assert curve.at(6) == (None, None, None, 0)


def test_kaplan_meier_of_nobody_is_one_and_followed_by_none() -> None:
    curve = retention.kaplan_meier(np.array([], dtype=int), np.array([], dtype=bool))
    assert curve.at(7) == (None, None, None, 0)


def _row(pk: int, **over: object) -> EnrollmentRow:
    values: dict[str, object] = {
        "id": pk,
        "program": "Calmer days",
        "support_level": "Coached",
        "supporter_id": None,
        "status": "active",
        "started_at": T0,
        "ended_at": None,
        "got_started_at": T0,
        "steps_in_program": 10,
        "steps_per_week": 3,
        "weeks": 2,
    }
    values.update(over)
    return EnrollmentRow(**values)  # type: ignore[arg-type]


def _ev(pk: int, at: datetime, *, step: bool = False, seconds: int | None = None) -> EventRow:
    return EventRow(pk, at, step, seconds)


def test_drop_outs_are_silence_of_14_days_or_a_withdrawal_and_completion_is_censored() -> None:
    now = T0 + 30 * DAY
    cohort = build(
        [
            _row(1),  # last seen day 20, 10 days ago: still active, censored at 20
            _row(2),  # last seen day 3, silent 27 days: dropped at 3
            _row(3, status="withdrawn"),  # seen day 25, then withdrew: dropped at 25
            _row(4, status="completed"),  # seen day 12, completed: censored at 12
            _row(5),  # never did anything, 30 days: dropped at day 0
        ],
        [
            _ev(1, T0 + 20 * DAY + timedelta(hours=5)),
            _ev(2, T0 + DAY),
            _ev(2, T0 + 3 * DAY),
            _ev(3, T0 + 25 * DAY),
            _ev(4, T0 + 12 * DAY),
        ],
    )
    days, dropped = retention.times_and_dropouts(cohort, now.timestamp())
    assert days.tolist() == [20, 3, 25, 12, 0]
    assert dropped.tolist() == [False, True, True, False, True]


def test_engagement_in_five_elements_by_hand() -> None:
    # Program: 10 steps, 3 a week for 2 weeks -> intended dose 6.
    cohort = build(
        [
            _row(1),  # 6 steps on 3 days in weeks 1-2, last in week 2
            _row(2, got_started_at=None),  # never finished getting started
            _row(3, got_started_at=T0 + 2 * DAY),  # only acted before getting started
            _row(4, steps_per_week=None, weeks=None),  # no pace: 3 a week for 8 -> 10
        ],
        [
            *[_ev(1, T0 + DAY, step=True, seconds=300) for _ in range(2)],
            *[_ev(1, T0 + 3 * DAY, step=True, seconds=120) for _ in range(2)],
            *[_ev(1, T0 + 9 * DAY + timedelta(hours=2), step=True) for _ in range(2)],
            _ev(2, T0 + DAY),
            _ev(3, T0 + DAY),
            *[_ev(4, T0 + 20 * DAY, step=True, seconds=60) for _ in range(10)],
        ],
    )
    use = engagement.per_enrollment(cohort)
    assert use["took_up"].tolist() == [True, False, False, True]
    assert use["active_days"].tolist() == [3, 1, 1, 1]
    assert use["steps"].tolist() == [6, 0, 0, 10]
    assert use["minutes"].tolist() == pytest.approx([14.0, 0, 0, 10.0])
    assert use["weeks_of_use"].tolist() == [2, 1, 1, 3]
    assert use["dose"].tolist() == [6, 6, 6, 10]
    assert use["reached_dose"].tolist() == [True, False, False, True]
    assert use["completed_all"].tolist() == [False, False, False, True]

    everyone, calmer = engagement.table(cohort).rows
    assert everyone["enrolled"] == 4
    assert everyone["took_up"] == 2
    assert everyone["uptake"] == 0.5
    assert everyone["median_active_days"] == 1.0
    assert everyone["median_steps"] == 3.0
    assert everyone["median_minutes"] == 5.0
    assert everyone["median_weeks"] == 1.5
    assert everyone["median_dose_share"] == 0.5
    assert everyone["reached_dose_rate"] == 0.5
    assert everyone["completed_all_rate"] == 0.25
    assert calmer["intended_use"] == "3 steps a week for 2 weeks"
    assert calmer["intended_dose"] == 6


def test_a_program_with_no_pace_is_read_as_3_steps_a_week_and_says_so() -> None:
    assert engagement.intended_dose(None, None, 40) == 24
    assert engagement.intended_dose(5, 4, 12) == 12
    assert "assumed" in engagement.intended_use_text(None, None)


def test_weekly_active_days_for_the_first_weeks() -> None:
    cohort = build(
        [_row(1)],
        [_ev(1, T0), _ev(1, T0 + timedelta(hours=3)), _ev(1, T0 + 8 * DAY), _ev(1, T0 + 60 * DAY)],
    )
    assert active_days(cohort, weeks=8).tolist() == [[1, 1, 0, 0, 0, 0, 0, 0]]


def test_reply_times_median_and_90th_percentile_in_hours() -> None:
    median, p90 = workload.reply_summary([3600, 7200, 10800, 14400, 36000])
    assert median == 3.0
    assert p90 == pytest.approx(4 + 0.6 * 6)  # between the 4th (4 h) and 5th (10 h)
    assert workload.reply_summary([]) == (None, None)


def test_phenotypes_are_named_by_the_shape_of_their_centroids() -> None:
    centroids = np.array(
        [
            [0.1, 0.2, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0],  # lowest: low throughout
            [5, 5, 4, 4, 4, 4, 5, 4],  # high in weeks 5-8: steady
            [0, 1, 1, 2, 4, 4, 5, 5],  # rises most: late start
            [6, 5, 3, 2, 1, 0, 0, 0],  # the one left: fading early
        ],
        dtype=float,
    )
    assert phenotypes.name_centroids(centroids) == [
        "low_throughout",
        "steady",
        "late_start",
        "fading_early",
    ]


def test_four_clear_trajectory_groups_are_found_and_named() -> None:
    steady = [[5, 5, 5, 5, 5, 5, 5, 5], [5, 4, 5, 5, 4, 5, 5, 5]]
    fading = [[6, 5, 3, 1, 0, 0, 0, 0], [6, 6, 2, 1, 0, 0, 0, 0]]
    late = [[0, 0, 1, 2, 4, 5, 5, 5], [0, 1, 1, 3, 4, 5, 6, 5]]
    low = [[0, 0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0]]
    found = phenotypes.cluster(np.array(steady + fading + late + low))
    assert found is not None
    assert (
        found.labels.tolist()
        == ["steady"] * 2 + ["fading_early"] * 2 + ["late_start"] * 2 + ["low_throughout"] * 2
    )
    assert phenotypes.cluster(np.array(steady + steady)) is None  # too few distinct


def test_counts_below_5_are_suppressed_with_the_rates_computed_from_them() -> None:
    table = Table(
        columns=[
            Column("group", "Group"),
            Column("n", "N", Kind.COUNT),
            Column("yes", "Yes", Kind.COUNT),
            Column("rate", "Rate", Kind.RATE, ("n", "yes")),
            Column("median", "Median", Kind.NUMBER, ("n",)),
        ],
        rows=[
            {"group": "big", "n": 20, "yes": 10, "rate": 0.5, "median": 3.0},
            {"group": "few yes", "n": 20, "yes": 4, "rate": 0.2, "median": 2.0},
            {"group": "small", "n": 3, "yes": 0, "rate": 0.0, "median": 1.0},
        ],
    )
    shown = privacy.suppress(table)
    assert shown.suppressed == [
        frozenset(),
        frozenset({"yes", "rate"}),
        frozenset({"n", "yes", "rate", "median"}),
    ]
    records = shown.records()
    assert records[1] == {
        "group": "few yes",
        "n": 20,
        "yes": None,
        "rate": None,
        "median": 2.0,
        "suppressed": ["rate", "yes"],
    }
    assert records[2]["group"] == "small"


def test_supporters_become_letters_in_the_order_given() -> None:
    assert privacy.pseudonyms(["u9", "u2", "u5"]) == {
        "u9": "Supporter A",
        "u2": "Supporter B",
        "u5": "Supporter C",
    }
    assert [privacy.letters(n) for n in (0, 25, 26, 27, 51, 52)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
    ]
