"""Every LOINC code Trellis sends carries a valid Mod 10 check digit."""

from __future__ import annotations

import pytest

from trellis.interop.fhir import loinc
from trellis.programs.instruments import all_instruments


def _codes_in_use() -> set[str]:
    found = set(loinc.DISPLAY)
    for instrument in all_instruments().values():
        found |= {instrument.loinc_panel, instrument.loinc_total} - {""}
        found |= {item.loinc for item in instrument.items if item.loinc}
    return found


@pytest.mark.parametrize("code", sorted(_codes_in_use()))
def test_code_in_use_has_a_valid_check_digit(code: str) -> None:
    assert loinc.is_valid(code), code


def test_the_totals_and_first_items_are_the_published_codes() -> None:
    instruments = all_instruments()
    assert instruments["PHQ-9"].loinc_total == loinc.PHQ9_TOTAL == "44261-6"
    assert instruments["GAD-7"].loinc_total == loinc.GAD7_TOTAL == "70274-6"
    assert instruments["PHQ-9"].items[0].loinc == "44250-9"
    assert instruments["GAD-7"].items[0].loinc == "69725-0"


@pytest.mark.parametrize("code", ["44261-5", "70274-1", "44250", "44250-99", "x4250-9", ""])
def test_a_wrong_digit_or_shape_is_refused(code: str) -> None:
    assert not loinc.is_valid(code)


def test_check_digit_worked_example() -> None:
    # LOINC's own worked example of the algorithm: 12345 -> 5.
    assert loinc.check_digit("12345") == 5
