"""LOINC codes and their check digit.

Every LOINC code ends in a check digit computed with the Mod 10 algorithm LOINC
publishes (the one used for credit-card numbers): counting from the rightmost digit of the
number before the hyphen, every digit in an odd place is doubled (a two-digit result adds
its digits), everything is added up, and the check digit is what brings the sum to the next
multiple of ten. A code with a wrong digit names nothing, or worse, something else, so
every code Trellis sends is checked (tests/test_fhir_loinc.py) and an instrument file whose
code does not check is refused before it reaches an EHR.
"""

from __future__ import annotations

import re

SYSTEM = "http://loinc.org"
CODE_RE = re.compile(r"^(\d{1,7})-(\d)$")

# The codes Trellis sends beyond those in the instrument files (which carry the item codes
# and, for PHQ-9 and GAD-7, their panel and total codes).
PHQ9_PANEL = "44249-1"  # PHQ-9 quick depression assessment panel
PHQ9_TOTAL = "44261-6"  # Patient Health Questionnaire 9 item (PHQ-9) total score
GAD7_PANEL = "69737-5"  # Generalized anxiety disorder 7 item (GAD-7)
GAD7_TOTAL = "70274-6"  # Generalized anxiety disorder 7 item (GAD-7) total score

# What each code means, as LOINC names it (the display sent with each coding).
DISPLAY: dict[str, str] = {
    PHQ9_PANEL: "PHQ-9 quick depression assessment panel [Reported.PHQ]",
    PHQ9_TOTAL: "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "44250-9": "Little interest or pleasure in doing things in last 2 weeks",
    "44255-8": "Feeling down, depressed, or hopeless in last 2 weeks",
    "44259-0": "Trouble falling or staying asleep, or sleeping too much in last 2 weeks",
    "44254-1": "Feeling tired or having little energy in last 2 weeks",
    "44251-7": "Poor appetite or overeating in last 2 weeks",
    "44258-2": (
        "Feeling bad about yourself-or that you are a failure or have let yourself or your "
        "family down in last 2 weeks"
    ),
    "44252-5": (
        "Trouble concentrating on things, such as reading the newspaper or watching "
        "television in last 2 weeks"
    ),
    "44253-3": (
        "Moving or speaking so slowly that other people could have noticed. Or the "
        "opposite-being so fidgety or restless that you have been moving around a lot more "
        "than usual in last 2 weeks"
    ),
    "44260-8": (
        "Thoughts that you would be better off dead, or of hurting yourself in some way in "
        "last 2 weeks"
    ),
    "69722-7": (
        "How difficult have these problems made it for you to do your work, take care of "
        "things at home, or get along with other people"
    ),
    GAD7_PANEL: "Generalized anxiety disorder 7 item (GAD-7)",
    GAD7_TOTAL: "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    "69725-0": "Feeling nervous, anxious or on edge in last 2 weeks",
    "68509-9": "Over the past 2 weeks have you not been able to stop or control worrying",
    "69733-4": "Worrying too much about different things in last 2 weeks",
    "69734-2": "Trouble relaxing in last 2 weeks",
    "69735-9": "Being so restless that it is hard to sit still in last 2 weeks",
    "69689-8": "Becoming easily annoyed or irritable in last 2 weeks",
    "69736-7": "Feeling afraid as if something awful might happen in last 2 weeks",
    "55758-7": "Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]",
}


def check_digit(number: str) -> int:
    """The Mod 10 check digit of the digits before the hyphen ("44261" -> 6)."""
    if not number.isdigit():
        raise ValueError(f"{number!r} is not the number part of a LOINC code")
    total = 0
    for place, char in enumerate(reversed(number), start=1):
        digit = int(char)
        if place % 2 == 1:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def is_valid(code: str) -> bool:
    """A LOINC code in its published form whose last digit checks ("44261-6")."""
    match = CODE_RE.match(code)
    return bool(match) and check_digit(match.group(1)) == int(match.group(2))  # type: ignore[union-attr]


def display(code: str) -> str:
    return DISPLAY.get(code, "")
