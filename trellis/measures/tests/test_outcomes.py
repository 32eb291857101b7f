"""NHS Talking Therapies outcomes, hand-computed case by case."""

from __future__ import annotations

import dataclasses

import pytest

from trellis.measures.outcomes import classify, from_series
from trellis.programs import instruments
from trellis.programs.instruments import caseness, get_instrument, reliable_change


def outcome(phq_first: int, gad_first: int, phq_last: int, gad_last: int) -> dict[str, bool]:
    result = classify(
        {"PHQ-9": phq_first, "GAD-7": gad_first}, {"PHQ-9": phq_last, "GAD-7": gad_last}
    )
    return {
        "caseness_first": result.caseness_first,
        "caseness_last": result.caseness_last,
        "improved": result.reliable_improvement,
        "deteriorated": result.reliable_deterioration,
        "recovered": result.recovery,
        "reliably_recovered": result.reliable_recovery,
    }


def test_the_thresholds_are_the_instrument_files_own() -> None:
    assert (caseness("PHQ-9"), caseness("GAD-7")) == (10, 8)
    for code in ("PHQ-9", "GAD-7"):
        instrument = get_instrument(code)
        assert instrument.caseness == caseness(code)
        assert instrument.reliable_change == reliable_change(code)


def test_caseness_follows_the_instrument_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # PHQ-9 11 at the end is a case at the shipped 10; with a file saying 12 it is not.
    assert outcome(16, 12, 11, 5)["caseness_last"] is True
    monkeypatch.setattr(
        "trellis.measures.outcomes.caseness", lambda code: {"PHQ-9": 12, "GAD-7": 8}[code]
    )
    assert outcome(16, 12, 11, 5)["caseness_last"] is False


def test_recovered_and_reliably_improved_is_reliable_recovery() -> None:
    # PHQ-9 16 -> 7 (falls 9), GAD-7 12 -> 5 (falls 7): both below caseness at the end.
    assert outcome(16, 12, 7, 5) == {
        "caseness_first": True,
        "caseness_last": False,
        "improved": True,
        "deteriorated": False,
        "recovered": True,
        "reliably_recovered": True,
    }


def test_recovery_without_reliable_change_is_not_reliable_recovery() -> None:
    # PHQ-9 10 -> 9 (falls 1), GAD-7 8 -> 7 (falls 1): just below both thresholds.
    result = outcome(10, 8, 9, 7)
    assert result["recovered"] and not result["improved"] and not result["reliably_recovered"]


def test_recovery_needs_both_below_caseness_at_the_last_measure() -> None:
    # PHQ-9 18 -> 6 (below), GAD-7 14 -> 8 (still at caseness: 8 >= 8).
    result = outcome(18, 14, 6, 8)
    assert result["caseness_last"] and not result["recovered"]
    assert result["improved"]  # PHQ-9 fell 12, GAD-7 fell 6: reliable improvement, no recovery
    assert not result["reliably_recovered"]


def test_recovery_needs_caseness_at_the_first_measure() -> None:
    # PHQ-9 9, GAD-7 7 at first: not a case, so nobody can "recover".
    result = outcome(9, 7, 2, 1)
    assert not result["caseness_first"] and not result["recovered"]
    # PHQ-9 fell 7 (>= 6) and GAD-7 fell 6: reliable improvement does not need caseness,
    # but reliable recovery does.
    assert result["improved"] and not result["reliably_recovered"]


def test_reliable_improvement_by_exactly_the_threshold() -> None:
    assert outcome(12, 5, 6, 5)["improved"]  # PHQ-9 falls exactly 6
    assert not outcome(12, 5, 7, 5)["improved"]  # falls 5
    assert outcome(5, 12, 5, 8)["improved"]  # GAD-7 falls exactly 4
    assert not outcome(5, 12, 5, 9)["improved"]  # falls 3


def test_reliable_deterioration_is_symmetric() -> None:
    assert outcome(4, 3, 10, 3)["deteriorated"]  # PHQ-9 rises exactly 6
    assert outcome(4, 3, 4, 7)["deteriorated"]  # GAD-7 rises exactly 4
    assert not outcome(4, 3, 9, 6)["deteriorated"]  # rises 5 and 3
    assert not outcome(4, 3, 10, 3)["improved"]


def test_one_reliably_up_and_the_other_reliably_down_is_neither() -> None:
    # PHQ-9 20 -> 12 (falls 8), GAD-7 5 -> 10 (rises 5).
    result = outcome(20, 5, 12, 10)
    assert not result["improved"] and not result["deteriorated"]
    assert not result["reliably_recovered"]


def test_a_small_rise_does_not_cancel_a_reliable_fall() -> None:
    # PHQ-9 15 -> 8 (falls 7), GAD-7 6 -> 9 (rises 3, below the 4 that would be reliable).
    result = outcome(15, 6, 8, 9)
    assert result["improved"] and not result["deteriorated"]
    assert not result["recovered"]  # GAD-7 9 >= 8 at the end


def test_fewer_than_two_measures_gives_no_outcome() -> None:
    assert from_series([], []) is None
    assert from_series([14], [10]) is None
    assert from_series([14, 8], [10]) is None
    assert from_series([14, 12, 8], [10, 7]) is not None


def test_the_outcome_compares_the_first_and_the_last_measure() -> None:
    # Middle measures do not matter: 14 ... 30 ... 8 is a fall of 6.
    result = from_series([14, 25, 8], [10, 20, 6])
    assert result is not None
    assert result.reliable_improvement and result.recovery and result.reliable_recovery
    assert result.change == {"PHQ-9": -6, "GAD-7": -4}


def test_a_missing_questionnaire_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError):
        classify({"PHQ-9": 12}, {"PHQ-9": 4, "GAD-7": 3})


def test_the_outcome_follows_the_instrument_file_when_its_figure_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = instruments.get_instrument
    stricter = dataclasses.replace(shipped("GAD-7"), reliable_change=5)
    monkeypatch.setattr(
        instruments,
        "get_instrument",
        lambda code: stricter if code == "GAD-7" else shipped(code),
    )
    assert not outcome(4, 3, 4, 7)["deteriorated"]  # GAD-7 rises 4, now below 5
    assert outcome(4, 3, 4, 8)["deteriorated"]  # rises 5
