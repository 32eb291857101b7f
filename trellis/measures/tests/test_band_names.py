"""A score's band is stored in English (it is the instrument's own word); pages show it in
the reader's language."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation


def _table(band: str) -> str:
    row = {"date": "5 Dec 2026", "instrument": "PHQ-9", "total": 16, "band": band}
    return render_to_string(
        "measures/_trajectory.html", {"chart": "", "rows": [row], "caption_id": "c"}
    )


def test_the_scores_table_names_the_band_in_the_readers_language() -> None:
    with translation.override("fi"):
        assert "Melko vaikea" in _table("Moderately severe")
    with translation.override("en"):
        assert "Moderately severe" in _table("Moderately severe")


def test_a_missing_band_shows_a_dash() -> None:
    with translation.override("fi"):
        assert "<td>—</td>" in _table("")
