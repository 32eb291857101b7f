"""The model card's figures (AUC, calibration, subgroups) and the plain-word reasons a
supporter reads beside a risk, each checked against a hand count."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from trellis.insights.risk import card, features, reasons


def test_auc_counts_ties_as_half() -> None:
    # Positives score 0.9, 0.5, 0.5; negatives 0.9, 0.3. Of the six pairs, the positive
    # is higher in three (each 0.9 or 0.5 against 0.3), tied in one (0.9 against 0.9),
    # lower in two (0.5 against 0.9): (3 + 0.5) / 6.
    labels = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.9, 0.9, 0.5, 0.3, 0.5])
    assert card.auc(labels, scores) == pytest.approx(7 / 12)


def test_auc_of_a_perfect_and_a_reversed_ranking() -> None:
    labels = np.array([0, 0, 1, 1])
    assert card.auc(labels, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert card.auc(labels, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert card.auc(labels, np.full(4, 0.5)) == 0.5


def test_auc_agrees_with_scikit_learn_on_random_data_with_ties() -> None:
    rng = np.random.default_rng(7)
    labels = rng.random(2000) < 0.3
    scores = np.round(rng.normal(labels * 0.8, 1.0), 1)  # rounded: many ties
    assert card.auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_auc_needs_both_outcomes() -> None:
    assert card.auc(np.array([1, 1, 1]), np.array([0.1, 0.5, 0.9])) is None
    assert card.auc(np.array([0, 0]), np.array([0.1, 0.5])) is None


def test_auc_interval_holds_the_auc() -> None:
    rng = np.random.default_rng(3)
    labels = rng.random(400) < 0.4
    scores = rng.normal(labels * 1.0, 1.0)
    low, high = card.auc_interval(labels, scores) or (None, None)
    assert low is not None and high is not None
    assert low < (card.auc(labels, scores) or 0) < high
    assert 0.0 < high - low < 0.2


def test_calibration_bins_and_expected_calibration_error() -> None:
    # Bin 0.1-0.2: one at 0.15, observed 0; bin 0.2-0.3: two at 0.25, observed 1 in 2;
    # bin 0.9-1.0: one at 0.95, observed 1. ECE = (0.15 + 2 * 0.25 + 0.05) / 4.
    labels = np.array([0, 0, 1, 1])
    risks = np.array([0.15, 0.25, 0.25, 0.95])
    rows = card.calibration(labels, risks)
    assert [(r["from"], r["count"], r["observed"]) for r in rows] == [
        (pytest.approx(0.1), 1, 0.0),
        (pytest.approx(0.2), 2, 0.5),
        (pytest.approx(0.9), 1, 1.0),
    ]
    assert [r["predicted"] for r in rows] == pytest.approx([0.15, 0.25, 0.95])
    assert card.ece(labels, risks) == pytest.approx(0.175)


def test_ece_weighs_each_bin_by_its_count() -> None:
    labels = np.array([0, 1, 0, 0, 1, 1, 1, 1])
    risks = np.array([0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 1.0, 1.0])
    # The 0.5 and 1.0 bins are right; the 0.25 bin (4 of 8) observes 0.5.
    assert card.ece(labels, risks) == pytest.approx(0.25 * 4 / 8)
    assert card.ece(np.array([0, 1]), np.array([0.5, 0.5])) == 0.0


def test_subgroups_below_50_people_have_no_auc() -> None:
    rng = np.random.default_rng(1)
    groups = np.array(["female"] * 49 + ["male"] * 50 + [""] * 10, dtype=object)
    labels = np.tile([0, 1], 60)[: len(groups)]
    risks = rng.random(len(groups))
    found = card.subgroups(labels, risks, {"sex": groups})["sex"]
    assert [(r["group"], r["count"]) for r in found] == [("", 10), ("female", 49), ("male", 50)]
    assert found[0]["auc"] is None
    assert found[1]["auc"] is None
    male = groups == "male"
    assert found[2]["auc"] == pytest.approx(roc_auc_score(labels[male], risks[male]))
    assert found[1]["rate"] == pytest.approx(labels[groups == "female"].mean())


def test_summary_has_count_rate_auc_interval_and_calibration() -> None:
    labels = np.array([0, 0, 1, 1] * 25)
    risks = np.array([0.1, 0.4, 0.35, 0.8] * 25)
    found = card.summary(labels, risks)
    assert found["count"] == 100
    assert found["rate"] == 0.5
    assert found["auc"] == pytest.approx(0.75)
    assert found["auc_95"][0] <= 0.75 <= found["auc_95"][1]
    assert sum(r["count"] for r in found["calibration"]) == 100


def _one(name: str, value: float, contribution: float) -> tuple[np.ndarray, np.ndarray]:
    """Feature values and contributions with one feature set, the rest zero and silent."""
    values = np.zeros(len(features.NAMES))
    parts = np.zeros(len(features.NAMES))
    values[features.NAMES.index(name)] = value
    parts[features.NAMES.index(name)] = contribution
    return values, parts


def test_explain_names_days_without_activity() -> None:
    values, parts = _one("days_since_active", 6.0, 1.2)
    assert reasons.explain(features.NAMES, values, parts) == ["no activity for 6 days"]


def test_explain_names_at_most_three_reasons_largest_first() -> None:
    values = np.zeros(len(features.NAMES))
    parts = np.zeros(len(features.NAMES))
    for name, value, contribution in [
        ("days_since_active", 1.0, 0.3),
        ("active_days_7", 2.0, 0.9),
        ("phq9_change", 4.0, 0.6),
        ("safety_events", 1.0, 0.5),
        ("longest_gap", 9.0, 0.2),
    ]:
        values[features.NAMES.index(name)] = value
        parts[features.NAMES.index(name)] = contribution
    assert reasons.explain(features.NAMES, values, parts) == [
        "active on 2 of the last 7 days",
        "last PHQ-9 up 4",
        "a safety answer on record",
    ]


def test_explain_never_names_the_day_age_band_or_sex() -> None:
    values = np.zeros(len(features.NAMES))
    parts = np.zeros(len(features.NAMES))
    for name, contribution in [("as_of_day", 3.0), ("age_band", 2.0), ("sex", 1.0)]:
        parts[features.NAMES.index(name)] = contribution
    values[features.NAMES.index("days_since_active")] = 4.0
    parts[features.NAMES.index("days_since_active")] = 0.5
    assert reasons.explain(features.NAMES, values, parts) == ["no activity for 4 days"]


def test_explain_skips_small_and_protective_contributions() -> None:
    values, parts = _one("days_since_active", 6.0, reasons.THRESHOLD / 2)
    assert reasons.explain(features.NAMES, values, parts) == []
    values, parts = _one("days_since_active", 6.0, -2.0)
    assert reasons.explain(features.NAMES, values, parts) == []


def test_explain_skips_a_figure_that_is_missing_or_says_nothing() -> None:
    # A PHQ-9 that fell is no reason; a missing mood has no words.
    values = np.zeros(len(features.NAMES))
    parts = np.zeros(len(features.NAMES))
    values[features.NAMES.index("phq9_change")] = -3.0
    parts[features.NAMES.index("phq9_change")] = 0.8
    values[features.NAMES.index("mood_last")] = np.nan
    parts[features.NAMES.index("mood_last")] = 0.7
    values[features.NAMES.index("active_days")] = 2.0
    parts[features.NAMES.index("active_days")] = 0.1
    assert reasons.explain(features.NAMES, values, parts) == ["active on 2 days since starting"]


def test_explain_says_one_day_in_the_singular_and_names_reminders_once() -> None:
    values = np.zeros(len(features.NAMES))
    parts = np.zeros(len(features.NAMES))
    for name, value, contribution in [
        ("days_since_active", 1.2, 0.9),
        ("reminders_sent_7", 3.0, 0.6),
        ("reminders_opened_7", 0.0, 0.5),
    ]:
        values[features.NAMES.index(name)] = value
        parts[features.NAMES.index(name)] = contribution
    assert reasons.explain(features.NAMES, values, parts) == [
        "no activity for 1 day",
        "opened 0 of 3 reminders in the last 7 days",
    ]
