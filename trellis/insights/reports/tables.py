"""The one shape every report's table takes: the page, the CSV download and the JSON API
are all drawn from it, so the three always agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.utils.functional import Promise


class Kind(StrEnum):
    """How a column's values are read and shown."""

    TEXT = "text"
    COUNT = "count"  # a number of people or things: suppressed below 5 for researchers
    RATE = "rate"  # a share, 0 to 1
    NUMBER = "number"  # a median, a number of minutes or days


@dataclass(frozen=True)
class Column:
    """One column. `base` names the count columns a value is computed from: when any of them
    is suppressed for a researcher, so is this value (a count is always its own base)."""

    key: str
    label: str | Promise
    kind: Kind = Kind.TEXT
    base: tuple[str, ...] = ()
    digits: int = 1  # decimal places of a number when shown


@dataclass
class Table:
    """Rows of plain values (str, int, float or None) under named columns. `suppressed`
    holds, for each row, the keys hidden because a count was too small to show."""

    columns: list[Column]
    rows: list[dict[str, Any]]
    suppressed: list[frozenset[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.suppressed:
            self.suppressed = [frozenset() for _ in self.rows]

    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def records(self) -> list[dict[str, Any]]:
        """The rows as the API gives them: every column, None where nothing is shown, and
        the list of keys suppressed."""
        return [
            {
                **{k: (None if k in hidden else row.get(k)) for k in self.column_keys()},
                "suppressed": sorted(hidden),
            }
            for row, hidden in zip(self.rows, self.suppressed, strict=True)
        ]


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when there is no whole."""
    return part / whole if whole else None
