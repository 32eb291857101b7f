"""The shipped questionnaires carry their published wording and facts; a clinic's own
questionnaire loads from its folder; the checker names every problem with its line."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trellis.programs import instruments
from trellis.programs.exercises import known_instruments
from trellis.programs.instruments import UnknownInstrument, all_instruments, get_instrument

HERE = Path(__file__).resolve().parent / "instruments"
FREQUENCY = [
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
]
TWO_WEEKS = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)


@pytest.fixture
def clinic_folder(settings: Any) -> Iterator[Path]:
    settings.TRELLIS_INSTRUMENTS_DIR = str(HERE / "clinic")
    instruments.clear_cache()
    yield HERE / "clinic"
    instruments.clear_cache()


def options(code: str, item_id: str | None = None) -> list[tuple[int, str]]:
    instrument = get_instrument(code)
    item = instrument.item(item_id) if item_id else instrument.items[0]
    assert item is not None
    return [(o.value, o.label) for o in instrument.options_for(item)]


def test_trellis_ships_the_five_questionnaires() -> None:
    assert set(all_instruments()) == {"PHQ-9", "GAD-7", "PHQ-2", "GAD-2", "eHEALS"}
    assert known_instruments() == set(all_instruments())


def test_phq9_has_the_published_items_options_and_unscored_difficulty_question() -> None:
    phq9 = get_instrument("PHQ-9")
    assert phq9.instructions == TWO_WEEKS
    assert [i.id for i in phq9.scored_items] == [f"q{n}" for n in range(1, 10)]
    assert phq9.items[0].text == "Little interest or pleasure in doing things"
    assert phq9.items[1].text == "Feeling down, depressed, or hopeless"
    assert phq9.item("q9") is not None
    assert phq9.item("q9").text == (  # type: ignore[union-attr]
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert options("PHQ-9") == FREQUENCY
    difficulty = phq9.item("difficulty")
    assert difficulty is not None and not difficulty.scored and not difficulty.required
    assert [o.label for o in phq9.options_for(difficulty)] == [
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    ]
    assert (phq9.min_total, phq9.max_total, phq9.caseness, phq9.reliable_change) == (0, 27, 10, 6)
    assert [(b.low, b.high, b.label) for b in phq9.bands] == [
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 19, "Moderately severe"),
        (20, 27, "Severe"),
    ]
    assert (phq9.loinc_panel, phq9.loinc_total) == ("44249-1", "44261-6")
    assert phq9.loinc_items["q9"] == "44260-8"
    assert phq9.prorate_max_missing == 1
    assert [(r.item, r.above, r.rule_name) for r in phq9.safety_rules] == [
        (
            "q9",
            0,
            "phq9_item9",
        )
    ]
    assert "Kroenke" in phq9.citation and "Pfizer" in phq9.licence


def test_gad7_has_the_published_items_bands_and_codes() -> None:
    gad7 = get_instrument("GAD-7")
    assert gad7.instructions == TWO_WEEKS
    assert [i.text for i in gad7.items] == [
        "Feeling nervous, anxious or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ]
    assert options("GAD-7") == FREQUENCY
    assert [(b.low, b.high) for b in gad7.bands] == [(0, 4), (5, 9), (10, 14), (15, 21)]
    assert (gad7.caseness, gad7.reliable_change) == (8, 4)
    assert (gad7.loinc_panel, gad7.loinc_total) == ("69737-5", "70274-6")
    assert "Spitzer" in gad7.citation and "Pfizer" in gad7.licence
    assert gad7.safety_rules == ()


def test_the_two_item_screens_are_the_first_two_items_with_a_positive_screen_at_three() -> None:
    for short, full in (("PHQ-2", "PHQ-9"), ("GAD-2", "GAD-7")):
        screen, whole = get_instrument(short), get_instrument(full)
        assert [i.text for i in screen.items] == [i.text for i in whole.items[:2]]
        assert options(short) == FREQUENCY
        assert (screen.min_total, screen.max_total) == (0, 6)
        assert screen.band_for(2).label == "Negative screen"  # type: ignore[union-attr]
        assert screen.band_for(3).label == "Positive screen"  # type: ignore[union-attr]
    assert get_instrument("PHQ-2").loinc_total == "55758-7"


def test_eheals_has_eight_agreement_items_scored_8_to_40() -> None:
    eheals = get_instrument("eHEALS")
    assert len(eheals.items) == 8
    assert eheals.items[0].text == "I know what health resources are available on the Internet"
    assert eheals.items[7].text == (
        "I feel confident in using information from the Internet to make health decisions"
    )
    assert options("eHEALS") == [
        (1, "Strongly disagree"),
        (2, "Disagree"),
        (3, "Undecided"),
        (4, "Agree"),
        (5, "Strongly agree"),
    ]
    assert (eheals.min_total, eheals.max_total) == (8, 40)
    assert [(b.low, b.high, b.label) for b in eheals.bands] == [
        (8, 20, "Inadequate"),
        (21, 26, "Problematic"),
        (27, 40, "Sufficient"),
    ]
    assert "Norman" in eheals.citation and "Skinner" in eheals.citation


def test_an_unknown_code_raises_unknown_instrument() -> None:
    with pytest.raises(UnknownInstrument):
        get_instrument("BDI-II")


def test_the_shipped_files_pass_the_content_check() -> None:
    out = StringIO()
    call_command("content", "check", str(instruments.BUILTIN_DIR), stdout=out)
    assert out.getvalue().count("no problems") == 5


def test_a_clinic_questionnaire_loads_from_its_folder_and_passes_the_check(
    clinic_folder: Path,
) -> None:
    wsas = get_instrument("WSAS")
    assert len(wsas.items) == 5 and (wsas.min_total, wsas.max_total) == (0, 40)
    assert "WSAS" in known_instruments()
    assert {"PHQ-9", "GAD-7", "PHQ-2", "GAD-2", "eHEALS", "WSAS"} == set(all_instruments())
    out = StringIO()
    call_command("content", "check", str(clinic_folder), stdout=out)
    assert "wsas.instrument.yaml: no problems" in out.getvalue()


def test_a_broken_questionnaire_file_reports_each_problem_with_its_line() -> None:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("content", "check", str(HERE / "broken"), stdout=out)
    printed = out.getvalue()
    expected = [
        "instrument.yaml:1: the instrument is missing the required field 'licence'",
        "instrument.yaml:2: code 'BAD SCALE' must be",
        "instrument.yaml:8: the instrument: the value 1 is used by two options",
        "instrument.yaml:12: item 2: the id 'q1' is used twice",
        "instrument.yaml:15: item 3 has an unknown field 'txt' (did you mean 'text'?)",
        "instrument.yaml:19: no band covers the total 2 (between 'Low' and 'High')",
        "instrument.yaml:21: safety rule 1: there is no item 'q7'",
    ]
    for line in expected:
        assert line in printed, line
    assert "instrument.yaml: " in printed and "problems" in printed


def test_a_broken_clinic_file_is_skipped_and_the_shipped_ones_still_load(settings: Any) -> None:
    settings.TRELLIS_INSTRUMENTS_DIR = str(HERE / "broken")
    instruments.clear_cache()
    try:
        assert set(all_instruments()) == {"PHQ-9", "GAD-7", "PHQ-2", "GAD-2", "eHEALS"}
    finally:
        instruments.clear_cache()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("max: 27", "max: 30"), "total max is 30 but the scored items add up to at most 27"),
        (("low: 5, high: 9", "low: 4, high: 9"), "overlap"),
        (("rule: phq9_item9", "rule: Item 9!"), "must be a lowercase name"),
        (("reverse_items: []", "reverse_items: [q12]"), "'q12', which is not a scored item"),
        (("caseness: 10", "caseness: 40"), "caseness 40 must be above 0 and at most 27"),
    ],
)
def test_the_checker_refuses_a_changed_phq9(change: tuple[str, str], message: str) -> None:
    text = (instruments.BUILTIN_DIR / "phq-9.instrument.yaml").read_text()
    assert change[0] in text
    found, problems = instruments.parse_instrument(
        text.replace(change[0], change[1], 1), file="phq-9.instrument.yaml"
    )
    assert found is None
    assert any(message in p.message for p in problems), problems


def test_a_clinic_file_may_not_reuse_a_shipped_code(tmp_path: Path) -> None:
    text = (instruments.BUILTIN_DIR / "gad-7.instrument.yaml").read_text()
    (tmp_path / "mine.instrument.yaml").write_text(text)
    problems = instruments.check_instruments(tmp_path)[tmp_path / "mine.instrument.yaml"]
    assert [p.message for p in problems] == [
        "code 'GAD-7' is an instrument Trellis ships; give the clinic's instrument its own code"
    ]
