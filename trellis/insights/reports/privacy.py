"""What a researcher sees of a clinic's reports: de-identified aggregates only.

- Supporters are never named: each becomes "Supporter A", "Supporter B", ... in one fixed
  order the caller gives (the same order in every report, so a letter means the same
  person across reports).
- Small cells are suppressed: any count below 5 (zero included) is hidden, and with it
  every value computed from that count (its rates, medians, bands).
"""

from __future__ import annotations

from collections.abc import Sequence
from string import ascii_uppercase
from typing import Any

from django.utils.translation import gettext as _

from trellis.insights.reports.tables import Kind, Table

SMALLEST_CELL = 5


def letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, 27 -> AB, ... (as spreadsheet columns are named)."""
    text = ""
    n += 1
    while n:
        n, remainder = divmod(n - 1, 26)
        text = ascii_uppercase[remainder] + text
    return text


def pseudonyms(ordered_ids: Sequence[Any]) -> dict[Any, str]:
    """Each id's pseudonym, "Supporter A" for the first in the order given, and so on."""
    return {
        pk: _("Supporter %(letter)s") % {"letter": letters(n)} for n, pk in enumerate(ordered_ids)
    }


def is_small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value < SMALLEST_CELL


def suppress(table: Table) -> Table:
    """The same table with every count below 5 hidden, and every value whose base count
    is hidden. Texts (group names) stay: they are not counts."""
    counts = [c.key for c in table.columns if c.kind == Kind.COUNT]
    hidden_rows = []
    for row, already in zip(table.rows, table.suppressed, strict=True):
        small = {key for key in counts if is_small(row.get(key))}
        hidden = set(already) | small
        for column in table.columns:
            if column.kind != Kind.TEXT and any(base in small for base in column.base):
                hidden.add(column.key)
        hidden_rows.append(frozenset(hidden))
    return Table(columns=table.columns, rows=table.rows, suppressed=hidden_rows)
