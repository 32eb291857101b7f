"""Treatment outcomes by the NHS Talking Therapies rules: pure functions, no database.

From the first and the last PHQ-9 and GAD-7 totals of a course of treatment:

- Caseness: PHQ-9 >= 10, or GAD-7 >= 8 (as shipped).
- Recovery: at caseness at the first measure, and below caseness on both at the last.
- Reliable improvement: PHQ-9 or GAD-7 falls by at least its reliable change, and neither
  rises by that much.
- Reliable deterioration: PHQ-9 or GAD-7 rises by at least its reliable change, and neither
  falls by that much (one reliably up and the other reliably down is neither).
- Reliable recovery: recovery and reliable improvement together.

The caseness and reliable change of each questionnaire are the ones in its instrument file
(`caseness`: PHQ-9 10, GAD-7 8; `reliable_change`: PHQ-9 6 points, GAD-7 4, as shipped),
read through `trellis.programs.instruments`; no copy of either figure is kept here.

Outcomes need both questionnaires measured at least twice; with fewer there is no
outcome (None), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trellis.programs.instruments import caseness, reliable_change

PHQ9, GAD7 = "PHQ-9", "GAD-7"


@dataclass(frozen=True)
class Outcome:
    """What happened between the first and the last measure of one course of treatment."""

    caseness_first: bool
    caseness_last: bool
    reliable_improvement: bool
    reliable_deterioration: bool
    recovery: bool
    reliable_recovery: bool
    first: Mapping[str, int]
    last: Mapping[str, int]

    @property
    def change(self) -> dict[str, int]:
        return {code: self.last[code] - self.first[code] for code in (PHQ9, GAD7)}


def at_caseness(totals: Mapping[str, int]) -> bool:
    """Above the clinical threshold on either questionnaire."""
    return totals[PHQ9] >= caseness(PHQ9) or totals[GAD7] >= caseness(GAD7)


def classify(first: Mapping[str, int], last: Mapping[str, int]) -> Outcome:
    """The outcome from the first and last totals ({"PHQ-9": n, "GAD-7": n} each).

    Raises ValueError if either questionnaire is missing from either measure.
    """
    for label, totals in (("first", first), ("last", last)):
        missing = [code for code in (PHQ9, GAD7) if totals.get(code) is None]
        if missing:
            raise ValueError(f"the {label} measure has no {' or '.join(missing)} total")
    change = {code: last[code] - first[code] for code in (PHQ9, GAD7)}
    reliable = {code: reliable_change(code) for code in (PHQ9, GAD7)}
    improved = [change[c] <= -reliable[c] for c in (PHQ9, GAD7)]
    worse = [change[c] >= reliable[c] for c in (PHQ9, GAD7)]
    reliable_improvement = any(improved) and not any(worse)
    reliable_deterioration = any(worse) and not any(improved)
    caseness_first, caseness_last = at_caseness(first), at_caseness(last)
    recovery = caseness_first and not caseness_last
    return Outcome(
        caseness_first=caseness_first,
        caseness_last=caseness_last,
        reliable_improvement=reliable_improvement,
        reliable_deterioration=reliable_deterioration,
        recovery=recovery,
        reliable_recovery=recovery and reliable_improvement,
        first={PHQ9: first[PHQ9], GAD7: first[GAD7]},
        last={PHQ9: last[PHQ9], GAD7: last[GAD7]},
    )


def from_series(phq9: Sequence[int], gad7: Sequence[int]) -> Outcome | None:
    """The outcome from each questionnaire's totals in time order, or None when either has
    fewer than two measures."""
    if len(phq9) < 2 or len(gad7) < 2:
        return None
    return classify({PHQ9: phq9[0], GAD7: gad7[0]}, {PHQ9: phq9[-1], GAD7: gad7[-1]})
