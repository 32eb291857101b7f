"""The rules of a request for a correction and of a decision, without the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from trellis.interop.record import parts


def test_a_request_names_a_part_and_a_change() -> None:
    assert parts.clean_request("mood", "  The 6 on 3 March should be a 4.  ") == (
        "mood",
        "The 6 on 3 March should be a 4.",
    )


@pytest.mark.parametrize(
    ("about", "change", "field"),
    [
        ("", "Fix it", "about"),
        ("bank details", "Fix it", "about"),
        ("mood", "   ", "change"),
        ("mood", "x" * (parts.MAX_CHANGE + 1), "change"),
    ],
)
def test_a_request_without_a_part_or_a_change_is_refused(
    about: str, change: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        parts.clean_request(about, change)
    assert field in refused.value.message_dict


def test_a_refusal_needs_a_reason_and_an_acceptance_does_not() -> None:
    assert parts.clean_decision("accept", "") == (True, "")
    assert parts.clean_decision("refuse", " The score is what was answered. ") == (
        False,
        "The score is what was answered.",
    )
    with pytest.raises(ValidationError) as refused:
        parts.clean_decision("refuse", "  ")
    assert "reason" in refused.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        parts.clean_decision("maybe", "")
    assert "decision" in unknown.value.message_dict
    with pytest.raises(ValidationError):
        parts.clean_decision("accept", "y" * (parts.MAX_REASON + 1))


def test_a_request_is_decided_within_sixty_days_of_receipt() -> None:
    received = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert parts.decide_by(received) == datetime(2026, 4, 30, 9, 0, tzinfo=UTC)


def test_an_unknown_part_reads_as_something_else() -> None:
    assert parts.part_label("nonsense") == parts.part_label("other")
