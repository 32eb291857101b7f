"""Scoring without the database: totals, bands, prorating, reverse scoring, safety hits."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trellis.measures.scoring import safety_hits, score, validate_answers
from trellis.programs.instruments import (
    Band,
    Instrument,
    Item,
    Option,
    SafetyRule,
    all_instruments,
    get_instrument,
)

CODES = sorted(all_instruments())


def values(instrument: Instrument, item: Item) -> list[int]:
    return [o.value for o in instrument.options_for(item)]


@st.composite
def complete_answers(draw: st.DrawFn, instrument: Instrument) -> dict[str, int | None]:
    return {
        item.id: draw(st.sampled_from(values(instrument, item)))
        for item in instrument.items
        if item.scored or draw(st.booleans())
    }


@st.composite
def partial_answers(draw: st.DrawFn, instrument: Instrument) -> dict[str, int | None]:
    answers = draw(complete_answers(instrument))
    for item in instrument.scored_items:
        if draw(st.booleans()):
            answers[item.id] = None
    return answers


@given(st.data())
def test_totals_stay_in_range_and_always_have_a_band(data: Any) -> None:
    instrument = get_instrument(data.draw(st.sampled_from(CODES)))
    result = score(instrument, data.draw(complete_answers(instrument)))
    assert result.total is not None and result.complete and not result.prorated
    assert instrument.min_total <= result.total <= instrument.max_total
    assert result.band is not None and result.band.contains(result.total)


@given(st.data())
def test_a_missing_item_never_becomes_a_silent_zero(data: Any) -> None:
    instrument = get_instrument(data.draw(st.sampled_from(CODES)))
    answers = data.draw(partial_answers(instrument))
    result = score(instrument, answers)
    missing = [i.id for i in instrument.scored_items if answers.get(i.id) is None]
    assert result.missing == missing
    if not missing:
        assert not result.prorated and result.complete
    elif len(missing) <= instrument.prorate_max_missing and len(missing) < len(
        instrument.scored_items
    ):
        assert result.prorated and not result.complete
        assert result.total is not None
        assert instrument.min_total <= result.total <= instrument.max_total
    else:
        assert result.total is None and result.band is None and not result.prorated


@pytest.mark.parametrize("code", CODES)
def test_the_bands_cover_the_whole_range_with_no_gap_or_overlap(code: str) -> None:
    instrument = get_instrument(code)
    for total in range(instrument.min_total, instrument.max_total + 1):
        holding = [b for b in instrument.bands if b.contains(total)]
        assert len(holding) == 1, (code, total, holding)
    assert instrument.band_for(instrument.min_total - 1) is None
    assert instrument.band_for(instrument.max_total + 1) is None


def test_phq9_hand_scored_examples() -> None:
    phq9 = get_instrument("PHQ-9")
    answers = {f"q{n}": v for n, v in zip(range(1, 10), [1, 2, 1, 2, 1, 1, 1, 0, 0], strict=True)}
    result = score(phq9, {**answers, "difficulty": 3})
    assert (result.total, result.band.label, result.prorated) == (9, "Mild", False)  # type: ignore[union-attr]
    assert score(phq9, {**answers, "q8": 1}).band.label == "Moderate"  # type: ignore[union-attr]
    # One missing item: 9 points from 8 answers, scaled to 9 items = 10.125 -> 10, marked.
    one_missing = {**answers, "q9": None}
    prorated = score(phq9, one_missing)
    assert (prorated.total, prorated.prorated, prorated.missing) == (10, True, ["q9"])
    # Two missing: no total at all.
    two_missing = {**one_missing, "q8": None}
    assert score(phq9, two_missing).total is None


def test_eheals_allows_no_missing_item() -> None:
    eheals = get_instrument("eHEALS")
    answers: dict[str, int | None] = {f"q{n}": 3 for n in range(1, 9)}
    assert score(eheals, answers).total == 24
    answers["q4"] = None
    assert score(eheals, answers).total is None


SYNTHETIC = Instrument(
    code="SYN-3",
    title="A synthetic scale with one reversed item",
    short_title="SYN-3",
    instructions="How true is each statement?",
    items=(Item("a", "I feel calm"), Item("b", "I feel tense"), Item("c", "I feel rested")),
    options=(Option(1, "Not true"), Option(2, "Somewhat"), Option(3, "Quite"), Option(4, "Very")),
    min_total=3,
    max_total=12,
    bands=(Band(3, 7, "Low", "low"), Band(8, 12, "High", "high")),
    reverse_items=frozenset({"a", "c"}),
    safety_rules=(SafetyRule("b", 3, "syn_tense"),),
)


def test_reverse_scored_items_count_from_the_other_end() -> None:
    # a=4 reversed -> 1, b=4 -> 4, c=1 reversed -> 4.
    assert score(SYNTHETIC, {"a": 4, "b": 4, "c": 1}).total == 9
    assert score(SYNTHETIC, {"a": 1, "b": 1, "c": 1}).total == 4 + 1 + 4
    assert score(SYNTHETIC, {"a": 4, "b": 1, "c": 4}).total == 3


@given(st.tuples(*[st.sampled_from([1, 2, 3, 4])] * 3))
def test_reverse_scoring_keeps_totals_in_range(chosen: tuple[int, int, int]) -> None:
    result = score(SYNTHETIC, dict(zip("abc", chosen, strict=True)))
    assert result.total is not None and 3 <= result.total <= 12
    flipped = score(SYNTHETIC, {k: 5 - v for k, v in zip("abc", chosen, strict=True)})
    assert flipped.total == 15 - result.total


def test_validation_names_each_bad_item() -> None:
    phq9 = get_instrument("PHQ-9")
    raw: dict[str, Any] = {f"q{n}": 0 for n in range(1, 10)}
    raw.update({"q2": 4, "q3": "often", "q5": True, "extra": 1})
    del raw["q7"]
    _cleaned, errors = validate_answers(phq9, raw)
    assert set(errors) == {"q2", "q3", "q5", "q7", "extra"}
    assert errors["q7"] == "Please answer this question."
    assert "difficulty" not in errors  # optional
    ok, none = validate_answers(phq9, {**{f"q{n}": str(n % 4) for n in range(1, 10)}})
    assert none == {} and ok["q3"] == 3


def test_validation_refuses_answers_that_are_not_a_mapping() -> None:
    _cleaned, errors = validate_answers(get_instrument("GAD-7"), ["0", "1"])
    assert list(errors) == ["answers"]


def test_safety_hits_find_item9_above_zero_even_when_other_answers_are_invalid() -> None:
    phq9 = get_instrument("PHQ-9")
    hits = safety_hits(phq9, {"q1": 9, "q2": "bad", "q9": "1"})
    assert [(rule.rule_name, item, value) for rule, item, value in hits] == [
        ("phq9_item9", "q9", 1)
    ]
    assert safety_hits(phq9, {"q9": 0}) == []
    assert safety_hits(phq9, {"q9": 7}) == []  # not an answer on the scale: nothing to act on
    assert safety_hits(phq9, {}) == []
    assert safety_hits(get_instrument("GAD-7"), {"q1": 3}) == []


@given(st.integers(min_value=0, max_value=3), st.dictionaries(st.text(max_size=4), st.integers()))
def test_item9_above_zero_always_fires_whatever_else_is_sent(
    item9: int, noise: dict[str, int]
) -> None:
    phq9 = get_instrument("PHQ-9")
    hits = safety_hits(phq9, {**noise, "q9": item9})
    assert (len(hits) == 1) == (item9 > 0)


def test_a_clinic_safety_rule_fires_on_its_own_item() -> None:
    assert [r.rule_name for r, _i, _v in safety_hits(SYNTHETIC, {"b": 4})] == ["syn_tense"]
    assert safety_hits(SYNTHETIC, {"b": 3}) == []
