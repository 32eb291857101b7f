"""Triage suggests a level of support from the baseline PHQ-9 and GAD-7 (pure, no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trellis.care import triage


def test_caseness_on_phq9_suggests_therapist_assisted_with_the_reason() -> None:
    suggestion = triage.suggest(phq9=10, gad7=3)
    assert suggestion.level == triage.THERAPIST_ASSISTED
    assert "PHQ-9 score 10 is at or above 10" in suggestion.reason


def test_caseness_on_gad7_alone_suggests_therapist_assisted() -> None:
    assert triage.suggest(phq9=2, gad7=8).level == triage.THERAPIST_ASSISTED


def test_mild_symptoms_below_caseness_suggest_coached() -> None:
    assert triage.suggest(phq9=9, gad7=7).level == triage.COACHED
    assert triage.suggest(phq9=5, gad7=0).level == triage.COACHED
    assert triage.suggest(phq9=0, gad7=5).level == triage.COACHED
    assert "mild" in triage.suggest(phq9=6, gad7=0).reason


def test_minimal_symptoms_suggest_self_guided() -> None:
    suggestion = triage.suggest(phq9=4, gad7=4)
    assert suggestion.level == triage.SELF_GUIDED
    assert "PHQ-9 4" in suggestion.reason and "GAD-7 4" in suggestion.reason


def test_a_clinic_can_raise_the_caseness_threshold() -> None:
    assert triage.suggest(phq9=10, gad7=0, settings={"phq9_caseness": 12}).level == triage.COACHED
    assert (
        triage.suggest(phq9=12, gad7=0, settings={"phq9_caseness": 12}).level
        == triage.THERAPIST_ASSISTED
    )


def test_invalid_settings_are_reported_and_ignored() -> None:
    settings = {"phq9_caseness": 40, "gad7_mild": "five", "colour": 3}
    problems = triage.problems_with(settings)
    assert len(problems) == 3
    assert triage.thresholds(settings) == triage.DEFAULT_THRESHOLDS


def test_mild_above_caseness_is_a_problem() -> None:
    assert triage.problems_with({"gad7_mild": 9}) == [
        "gad7_mild must not be higher than gad7_caseness."
    ]


def test_unscorable_baseline_suggests_coached_so_a_person_looks() -> None:
    assert triage.suggest(phq9=None, gad7=None).level == triage.COACHED
    assert triage.suggest(phq9=None, gad7=9).level == triage.THERAPIST_ASSISTED


@given(st.integers(0, 27), st.integers(0, 21))
def test_every_pair_of_totals_gets_one_level_that_grows_with_severity(phq9: int, gad7: int) -> None:
    order = [triage.SELF_GUIDED, triage.COACHED, triage.THERAPIST_ASSISTED]
    level = triage.suggest(phq9=phq9, gad7=gad7)
    assert level.level in order
    assert len(level.reason) <= 300
    worse = triage.suggest(phq9=min(phq9 + 1, 27), gad7=gad7)
    assert order.index(worse.level) >= order.index(level.level)
