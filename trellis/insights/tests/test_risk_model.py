"""The simulated clinic and its oracle, and the dropout-risk model trained on it: trained,
saved, loaded, applied, and its contributions adding up exactly to its score."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from trellis.engagement import interchange as columns
from trellis.engagement.models import EventType
from trellis.insights.risk import card, features, interchange, learn, simulate

# --- The simulated clinic ---------------------------------------------------------------


def truth(hazard: list[list[float]], quiet: list[list[float]]) -> pl.DataFrame:
    return pl.DataFrame({"hazard": hazard, "quiet": quiet})


def test_oracle_of_someone_active_yesterday_who_never_leaves() -> None:
    # Still in for certain; each of the next 14 days is quiet with chance 0.5.
    risk = simulate.oracle_risk(truth([[0.0] * 30], [[0.5] * 30]), np.array([9]), 10)
    assert risk == pytest.approx([0.5**14])


def test_oracle_is_certain_when_the_hazard_is_one_the_day_after_the_last_action() -> None:
    hazard = [0.0] * 30
    hazard[6] = 1.0
    # Left on day 6, a silent day before the end of day 10: gone for certain.
    past = simulate.oracle_risk(truth([hazard], [[0.5] * 30]), np.array([5]), 10)
    assert past == pytest.approx([1.0])
    # Leaves on day 6, the first day ahead of the end of day 6.
    ahead = simulate.oracle_risk(truth([hazard], [[0.5] * 30]), np.array([5]), 6)
    assert ahead == pytest.approx([1.0])


def test_oracle_weighs_silent_days_against_having_left() -> None:
    # Last action on day 0; day 1 was silent. Staying in and quiet on day 1: 0.5 * 0.5;
    # leaving on day 1: 0.5. So still in with chance 0.25 / 0.75. Ahead (days 2 and 3):
    # leave on day 2 (0.2), or stay quiet (0.8 * 0.5) and leave on day 3 (0.1), or stay
    # quiet both days (0.4 * 0.9 * 0.5): 0.2 + 0.04 + 0.18 = 0.42.
    frame = truth([[0.0, 0.5, 0.2, 0.1]], [[0.0, 0.5, 0.5, 0.5]])
    risk = simulate.oracle_risk(frame, np.array([0]), 2, horizon=2)
    assert risk == pytest.approx([2 / 3 + 1 / 3 * 0.42])


def test_oracle_refuses_a_window_beyond_the_cohort() -> None:
    with pytest.raises(ValueError, match="does not reach"):
        simulate.oracle_risk(truth([[0.0] * 20], [[0.5] * 20]), np.array([3]), 7)


def test_a_cohort_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first = simulate.simulate(200, 3, seed=5)
    again = simulate.simulate(200, 3, seed=5)
    other = simulate.simulate(200, 3, seed=6)
    assert_frame_equal(first.events, again.events)
    assert_frame_equal(first.enrollments, again.enrollments)
    assert_frame_equal(first.truth, again.truth)
    assert not first.events.equals(other.events)
    assert not first.truth["class"].equals(other.truth["class"])


def test_a_cohort_has_the_five_classes_in_their_shares() -> None:
    cohort = simulate.simulate(4000, 2, seed=8)
    shares = dict(cohort.truth["class"].value_counts(normalize=True).iter_rows())
    for klass in simulate.CLASSES:
        assert shares[klass.name] == pytest.approx(klass.share, abs=0.025), klass.name


@pytest.fixture(scope="module")
def small_cohort() -> simulate.Cohort:
    return simulate.simulate(300, 6, seed=21)


def test_a_cohort_is_in_the_interchange_format_with_opaque_text_ids(
    small_cohort: simulate.Cohort,
) -> None:
    events, people, truth_ = small_cohort.events, small_cohort.enrollments, small_cohort.truth
    assert events.columns == columns.EVENT_COLUMNS
    assert people.columns == columns.ENROLLMENT_COLUMNS + columns.OPTIONAL_ENROLLMENT_COLUMNS
    for frame in (events, people, truth_):
        assert frame["enrollment_id"].dtype == pl.String
    ids = people["enrollment_id"]
    assert ids.n_unique() == 300
    assert not any(i.isdigit() for i in ids)
    assert set(events["enrollment_id"]) == set(ids)
    assert truth_["enrollment_id"].to_list() == ids.to_list()
    assert set(events["type"]) <= set(EventType.values)
    assert set(people["support_level"]) <= set(features.SUPPORT_CODES)


def test_a_cohort_lists_each_enrollments_events_oldest_first(
    small_cohort: simulate.Cohort,
) -> None:
    events = small_cohort.events
    assert events["enrollment_id"].is_sorted()
    in_order = events.group_by("enrollment_id").agg(pl.col("occurred_at").is_sorted())
    assert in_order["occurred_at"].all()


def test_a_cohort_starts_everyone_with_a_sign_in_on_day_0_and_stays_in_its_weeks(
    small_cohort: simulate.Cohort,
) -> None:
    days = small_cohort.events.join(small_cohort.enrollments, on="enrollment_id").select(
        "enrollment_id",
        "type",
        t=(pl.col("occurred_at") - pl.col("started_at")).dt.total_seconds() / 86_400,
    )
    assert days["t"].is_between(0, 6 * 7, closed="left").all()
    day_0 = days.filter(pl.col("t") < 1, pl.col("type") == "login")
    assert day_0["enrollment_id"].n_unique() == 300


def test_a_discharged_enrollment_has_no_events_after_it_ended() -> None:
    cohort = simulate.simulate(3000, 10, seed=1)
    ended = cohort.enrollments.filter(pl.col("ended_at").is_not_null())
    assert ended.height > 100
    late = cohort.events.join(ended, on="enrollment_id").filter(
        pl.col("occurred_at") >= pl.col("ended_at")
    )
    assert late.height == 0, late.head()


def test_the_truth_holds_a_hazard_and_a_quiet_chance_for_each_day(
    small_cohort: simulate.Cohort,
) -> None:
    hazard = np.asarray(small_cohort.truth["hazard"].to_list())
    quiet = np.asarray(small_cohort.truth["quiet"].to_list())
    assert hazard.shape == quiet.shape == (300, 42)
    assert (hazard[:, 0] == 0).all() and (quiet[:, 0] == 0).all()
    assert ((hazard >= 0) & (hazard <= 0.9)).all()
    assert ((quiet >= 0) & (quiet < 1)).all()


def test_a_cohort_has_at_least_one_patient_and_one_week() -> None:
    with pytest.raises(ValueError):
        simulate.simulate(0, 4, seed=1)
    with pytest.raises(ValueError):
        simulate.simulate(10, 0, seed=1)


def test_a_cohort_written_as_csv_reads_back_the_same(
    small_cohort: simulate.Cohort, tmp_path: Path
) -> None:
    written = simulate.write(small_cohort, tmp_path, fmt="csv")
    assert sorted(p.name for p in written.values()) == [
        "enrollments.csv",
        "events.csv",
        "truth.parquet",
    ]
    assert_frame_equal(interchange.read_events(written["events"]).frame, small_cohort.events)
    assert_frame_equal(
        interchange.read_enrollments(written["enrollments"]),
        small_cohort.enrollments,
        check_column_order=False,
    )


def test_the_oracle_risk_matches_the_observed_rate_on_a_simulated_cohort() -> None:
    """The oracle, the labels and the simulator agree on what day D means."""
    cohort = simulate.simulate(3000, 5, seed=2)
    for day in (7, 14):
        labelled = features.labels(cohort.events, cohort.enrollments, day)
        last = features.last_acted_day(cohort.events, cohort.enrollments, day)
        rows = labelled.join(last, on="enrollment_id", how="left").join(
            cohort.truth, on="enrollment_id"
        )
        oracle = simulate.oracle_risk(rows, rows["last_day"].fill_null(-1).to_numpy(), day)
        labels = rows["dropped"].to_numpy()
        assert oracle.mean() == pytest.approx(labels.mean(), abs=0.03)
        assert card.ece(labels, oracle) < 0.03
        assert (card.auc(labels, oracle) or 0) > 0.85


# --- The model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cohort() -> simulate.Cohort:
    return simulate.simulate(1500, 8, seed=11)


@pytest.fixture(scope="module")
def model(cohort: simulate.Cohort) -> learn.Model:
    return learn.train(cohort.events, cohort.enrollments, seed=0)


def test_training_chooses_a_model_and_writes_its_card(model: learn.Model) -> None:
    assert model.kind in ("logistic", "trees")
    assert (model.trees is not None) == (model.kind == "trees")
    assert (model.linear is not None) == (model.kind == "logistic")
    data = model.card["data"]
    assert data["enrollments"] == 1500
    assert data["train_enrollments"] == int(1500 * 0.7)
    assert data["validation_enrollments"] == int(1500 * 0.85) - int(1500 * 0.7)
    assert data["test_enrollments"] == 1500 - int(1500 * 0.85)
    assert data["as_of_days"] == list(learn.TRAIN_DAYS)
    assert set(model.card["validation_auc"]) == {"logistic", "trees"}
    assert model.card["test"]["auc"] > 0.85
    assert set(model.card["test_by_day"]) == {str(d) for d in learn.TRAIN_DAYS}


def test_risks_are_probabilities(model: learn.Model, cohort: simulate.Cohort) -> None:
    x = learn.matrix(features.at_day(cohort.events, cohort.enrollments, 14))
    risks = model.risk(x)
    assert risks.shape == (x.shape[0],)
    assert ((risks >= 0) & (risks <= 1)).all()
    assert risks.min() < 0.3 < 0.7 < risks.max()


def test_a_saved_model_loads_with_the_same_risks_and_contributions(
    model: learn.Model, cohort: simulate.Cohort, tmp_path: Path
) -> None:
    model.save(tmp_path / "model")
    loaded = learn.Model.load(tmp_path / "model")
    assert loaded.kind == model.kind
    assert loaded.card == json.loads(json.dumps(model.card))
    x = learn.matrix(features.at_day(cohort.events, cohort.enrollments, 21))
    np.testing.assert_allclose(loaded.risk(x), model.risk(x), atol=1e-12)
    np.testing.assert_allclose(loaded.contributions(x), model.contributions(x), atol=1e-9)


def test_loading_needs_a_model_of_this_version(model: learn.Model, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no model\.json"):
        learn.Model.load(tmp_path / "nothing")
    model.save(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "model.json").read_text())
    saved["features"] = saved["features"][:-1]
    (tmp_path / "model" / "model.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match="another version of Trellis"):
        learn.Model.load(tmp_path / "model")


def test_fewer_than_500_enrollments_with_an_outcome_train_no_model() -> None:
    small = simulate.simulate(400, 8, seed=3)
    with pytest.raises(learn.TooFew, match="needs at least 500"):
        learn.train(small.events, small.enrollments)


def test_score_names_each_enrollment_in_the_program_at_day_d(
    model: learn.Model, cohort: simulate.Cohort
) -> None:
    day = 50
    scores = learn.score(model, cohort.events, cohort.enrollments, day)
    assert scores.columns == ["enrollment_id", "as_of_day", "risk", "reasons"]
    end = cohort.events["occurred_at"].max()
    expected = {
        row["enrollment_id"]
        for row in cohort.enrollments.iter_rows(named=True)
        if row["started_at"] + timedelta(days=day) <= end
        and (row["ended_at"] is None or row["ended_at"] > row["started_at"] + timedelta(days=day))
    }
    assert 0 < len(expected) < 1500
    assert sorted(scores["enrollment_id"]) == sorted(expected)
    assert set(scores["as_of_day"]) == {day}
    assert scores["risk"].is_between(0, 1).all()


def test_score_is_higher_and_explained_for_the_long_inactive(
    model: learn.Model, cohort: simulate.Cohort
) -> None:
    scores = learn.score(model, cohort.events, cohort.enrollments, 14).join(
        features.at_day(cohort.events, cohort.enrollments, 14), on="enrollment_id"
    )
    quiet = scores.filter(pl.col("days_since_active") >= 7)
    busy = scores.filter(pl.col("days_since_active") <= 1)
    assert quiet.height > 50 and busy.height > 50
    assert quiet["risk"].mean() > busy["risk"].mean() + 0.4  # type: ignore[operator]
    named = quiet.filter(pl.col("reasons").str.contains(r"no activity for \d+ days"))
    assert named.height > quiet.height / 2
    assert all(len(r.split("; ")) <= 3 for r in scores["reasons"] if r)


def test_score_refuses_day_0_and_a_day_no_enrollment_has_reached(
    model: learn.Model, cohort: simulate.Cohort
) -> None:
    with pytest.raises(learn.BeyondTheData, match="1 or more"):
        learn.score(model, cohort.events, cohort.enrollments, 0)
    with pytest.raises(learn.BeyondTheData, match="day 400 is beyond the data"):
        learn.score(model, cohort.events, cohort.enrollments, 400)


def test_the_card_reads_as_markdown_with_its_limits(model: learn.Model) -> None:
    text = card.as_text(model.card)
    assert text.startswith("# Model card: dropout risk\n")
    assert "Split by start date: 1050 earliest to learn from, 225 next" in text
    for day in learn.TRAIN_DAYS:
        assert f"\n| {day} | " in text
    assert "Subgroups smaller than 50 people have no AUC" in text
    assert "| support level | coached |" in text


def test_each_check_on_other_data_shows_once_on_the_card(model: learn.Model) -> None:
    checked = {
        **model.card,
        "evaluations": [
            {
                "evaluated_at": "2026-12-06T10:00:00+00:00",
                "events": "fresh/events.parquet",
                "enrollments": 1000,
                "days": {
                    "7": {"count": 1000, "rate": 0.25, "auc": 0.88, "auc_95": [0.86, 0.9],
                          "ece": 0.01, "oracle_auc": 0.9, "oracle_ece": 0.008},
                },
            }
        ],
    }  # fmt: skip
    text = card.as_text(checked)
    assert text.count("## Checked on other data (2026-12-06)") == 1
    assert "| 7 | 1000 | 25.0% | 0.880 | 0.860 to 0.900 | 0.010 | 0.900 | 0.008 |" in text
    assert text.index("## Checked on other data") < text.index("## Known limits")


# --- Exact contributions ------------------------------------------------------------------


def missing_data(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Three features; the third is missing for about half, and missing predicts dropout."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, 3))
    gone = rng.random(n) < 0.5
    x[gone, 2] = np.nan
    logit = -0.5 + 1.0 * x[:, 0] + 1.5 * gone
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def test_logistic_contributions_and_baseline_add_up_to_its_margin() -> None:
    x, y = missing_data()
    linear = learn.fit_linear(x, y, 1.0)
    assert linear.flagged.tolist() == [2]
    total = linear.contributions(x).sum(axis=1) + linear.intercept
    np.testing.assert_allclose(linear.margin(x), total, rtol=0, atol=1e-9)


def test_logistic_margin_is_the_fitted_log_odds() -> None:
    """With an intercept, a fitted logistic model predicts as many dropouts as there were."""
    x, y = missing_data()
    linear = learn.fit_linear(x, y, 1.0)
    risks = 1 / (1 + np.exp(-linear.margin(x)))
    assert risks.mean() == pytest.approx(y.mean(), abs=1e-3)


def test_logistic_contributions_average_zero_on_the_training_data() -> None:
    x, y = missing_data()
    linear = learn.fit_linear(x, y, 1.0)
    np.testing.assert_allclose(linear.contributions(x).mean(axis=0), 0.0, atol=1e-9)


def test_a_logistic_model_survives_its_round_trip_through_json() -> None:
    x, y = missing_data()
    linear = learn.fit_linear(x, y, 0.1)
    again = learn.Linear.from_dict(json.loads(json.dumps(linear.as_dict())))
    np.testing.assert_array_equal(again.margin(x), linear.margin(x))
    np.testing.assert_array_equal(again.contributions(x), linear.contributions(x))


def test_tree_contributions_and_baseline_add_up_to_the_raw_score(
    cohort: simulate.Cohort,
) -> None:
    data = learn.examples(cohort.events, cohort.enrollments, (7, 14))
    x, y = learn.matrix(data), data["dropped"].to_numpy()
    half = len(y) // 2
    trees = learn.fit_trees(x[:half], y[:half], x[half:], y[half:], seed=0)
    model = learn.Model(
        kind="trees",
        linear=None,
        trees=trees,
        calibration_x=np.array([-5.0, 5.0]),
        calibration_y=np.array([0.0, 1.0]),
        card={},
    )
    parts = np.asarray(trees.predict(x, pred_contrib=True))
    np.testing.assert_allclose(model.contributions(x), parts[:, :-1])
    np.testing.assert_allclose(parts.sum(axis=1), model.margin(x), atol=1e-9)


def test_logistic_model_contributions_add_up_to_its_margin() -> None:
    x, y = missing_data()
    linear = learn.fit_linear(x, y, 1.0)
    model = learn.Model(
        kind="logistic",
        linear=linear,
        trees=None,
        calibration_x=np.array([-5.0, 5.0]),
        calibration_y=np.array([0.0, 1.0]),
        card={},
    )
    total = model.contributions(x).sum(axis=1) + linear.intercept
    np.testing.assert_allclose(model.margin(x), total, rtol=0, atol=1e-9)
    assert model.risk(np.array([[-100.0, 0.0, 0.0]]))[0] == 0.0
