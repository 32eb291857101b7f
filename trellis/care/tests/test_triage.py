"""Triage suggests a level of support from the baseline PHQ-9 and GAD-7, and never self-guided
after an answer about self-harm (pure, no database)."""

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


def test_item9_answered_0_leaves_minimal_totals_self_guided() -> None:
    suggestion = triage.suggest(phq9=3, gad7=2, phq9_item9=0)
    assert suggestion.level == triage.SELF_GUIDED
    assert "item 9" not in suggestion.reason


def test_item9_answered_1_with_minimal_totals_suggests_therapist_assisted() -> None:
    suggestion = triage.suggest(phq9=1, gad7=0, phq9_item9=1)
    assert suggestion.level == triage.THERAPIST_ASSISTED
    assert "PHQ-9 item 9 was answered 1" in suggestion.reason
    assert "hurting themselves" in suggestion.reason
    assert "clinician's review" in suggestion.reason
    assert "PHQ-9 1, GAD-7 0" in suggestion.reason


def test_item9_answered_3_with_mild_totals_suggests_therapist_assisted_not_coached() -> None:
    suggestion = triage.suggest(phq9=7, gad7=6, phq9_item9=3)
    assert suggestion.level == triage.THERAPIST_ASSISTED
    assert "PHQ-9 item 9 was answered 3" in suggestion.reason


def test_item9_above_0_with_totals_at_caseness_says_why_in_the_reason() -> None:
    suggestion = triage.suggest(phq9=18, gad7=12, phq9_item9=2)
    assert suggestion.level == triage.THERAPIST_ASSISTED
    assert "item 9 was answered 2" in suggestion.reason
    assert "PHQ-9 18, GAD-7 12" in suggestion.reason


def test_item9_missing_leaves_the_totals_to_decide() -> None:
    assert triage.suggest(phq9=2, gad7=1, phq9_item9=None).level == triage.SELF_GUIDED
    assert triage.suggest(phq9=2, gad7=1).level == triage.SELF_GUIDED
    assert triage.suggest(phq9=6, gad7=1, phq9_item9=None).level == triage.COACHED


def test_item9_above_0_with_unscorable_totals_suggests_therapist_assisted() -> None:
    suggestion = triage.suggest(phq9=None, gad7=None, phq9_item9=1)
    assert suggestion.level == triage.THERAPIST_ASSISTED
    assert "Totals" not in suggestion.reason


def test_no_clinic_threshold_turns_an_item9_answer_into_self_guided() -> None:
    lenient = {"phq9_caseness": 27, "gad7_caseness": 21, "phq9_mild": 27, "gad7_mild": 21}
    assert triage.problems_with(lenient) == []
    assert triage.suggest(phq9=20, gad7=15, settings=lenient).level == triage.SELF_GUIDED
    assert (
        triage.suggest(phq9=20, gad7=15, settings=lenient, phq9_item9=1).level
        == triage.THERAPIST_ASSISTED
    )
    assert (
        triage.suggest(phq9=20, gad7=15, settings=lenient, phq9_item9=0).level == triage.SELF_GUIDED
    )


def test_a_raised_caseness_threshold_still_gives_way_to_item9() -> None:
    raised = {"phq9_caseness": 12}
    assert triage.suggest(phq9=10, gad7=0, settings=raised, phq9_item9=0).level == triage.COACHED
    assert (
        triage.suggest(phq9=10, gad7=0, settings=raised, phq9_item9=2).level
        == triage.THERAPIST_ASSISTED
    )


@given(st.integers(0, 27), st.integers(0, 21))
def test_every_pair_of_totals_gets_one_level_that_grows_with_severity(phq9: int, gad7: int) -> None:
    order = [triage.SELF_GUIDED, triage.COACHED, triage.THERAPIST_ASSISTED]
    level = triage.suggest(phq9=phq9, gad7=gad7)
    assert level.level in order
    assert len(level.reason) <= 300
    worse = triage.suggest(phq9=min(phq9 + 1, 27), gad7=gad7)
    assert order.index(worse.level) >= order.index(level.level)


@given(
    st.one_of(st.none(), st.integers(0, 27)),
    st.one_of(st.none(), st.integers(0, 21)),
    st.integers(1, 3),
)
def test_any_item9_answer_above_0_is_never_self_guided(
    phq9: int | None, gad7: int | None, item9: int
) -> None:
    suggestion = triage.suggest(phq9=phq9, gad7=gad7, phq9_item9=item9)
    assert suggestion.level == triage.THERAPIST_ASSISTED
    assert len(suggestion.reason) <= 300
