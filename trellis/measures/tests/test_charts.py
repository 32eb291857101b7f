"""The trajectory chart, tested by parsing the SVG it draws (no database)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from trellis.measures import charts

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def weekly(*totals: int | None, band: str = "") -> list[tuple[datetime, int | None, str]]:
    return [(START + timedelta(weeks=n), total, band) for n, total in enumerate(totals)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314  (our own output, not untrusted input)


def panel(root: ET.Element, code: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("data-instrument") == code]
    assert len(found) == 1, f"one panel for {code}"
    return found[0]


def points(group: ET.Element) -> list[ET.Element]:
    return [c for c in group.iter(f"{SVG}circle") if c.get("class") == "point"]


def bands(group: ET.Element) -> list[ET.Element]:
    return [r for r in group.iter(f"{SVG}rect") if r.get("class") == "band"]


def plot_area(index: int) -> tuple[float, float, float, float]:
    top = index * charts.PANEL_HEIGHT + charts.TOP
    bottom = (index + 1) * charts.PANEL_HEIGHT - charts.BOTTOM
    return charts.PLOT_LEFT, charts.PLOT_RIGHT, top, bottom


def test_one_point_per_scored_response_inside_the_plot() -> None:
    svg = charts.trajectory_svg({"PHQ-9": weekly(18, 14, 11, 7, 4), "GAD-7": weekly(12, 9, 6)})
    root = parse(svg)
    for index, (code, count) in enumerate((("PHQ-9", 5), ("GAD-7", 3))):
        found = points(panel(root, code))
        assert len(found) == count
        left, right, top, bottom = plot_area(index)
        for circle in found:
            assert left <= float(circle.get("cx", "nan")) <= right
            assert top <= float(circle.get("cy", "nan")) <= bottom


def test_higher_scores_are_drawn_higher_and_later_dates_further_right() -> None:
    root = parse(charts.trajectory_svg({"PHQ-9": weekly(20, 10, 3)}))
    found = points(panel(root, "PHQ-9"))
    xs = [float(c.get("cx", "0")) for c in found]
    ys = [float(c.get("cy", "0")) for c in found]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert ys[0] < ys[1] < ys[2]  # SVG y grows downwards: 20 is nearest the top


def test_a_score_at_the_ends_of_the_scale_sits_on_the_plot_edges() -> None:
    root = parse(charts.trajectory_svg({"PHQ-9": weekly(27, 0)}))
    _left, _right, top, bottom = plot_area(0)
    ys = [float(c.get("cy", "0")) for c in points(panel(root, "PHQ-9"))]
    assert ys == pytest.approx([top, bottom])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("PHQ-9", [(0, 4), (5, 9), (10, 14), (15, 19), (20, 27)]),
        ("GAD-7", [(0, 4), (5, 9), (10, 14), (15, 21)]),
    ],
)
def test_band_rectangles_tile_the_whole_range_without_gap_or_overlap(
    code: str, expected: list[tuple[int, int]]
) -> None:
    root = parse(charts.trajectory_svg({code: weekly(7, 12)}))
    rects = bands(panel(root, code))
    assert [(int(r.get("data-low", "")), int(r.get("data-high", ""))) for r in rects] == expected
    _left, _right, top, bottom = plot_area(0)
    spans = sorted(
        (float(r.get("y", "0")), float(r.get("y", "0")) + float(r.get("height", "0")))
        for r in rects
    )
    assert spans[0][0] == pytest.approx(top)
    assert spans[-1][1] == pytest.approx(bottom)
    for (_a, end), (start, _b) in itertools.pairwise(spans):
        assert start == pytest.approx(end)


def test_each_point_is_named_with_date_score_and_band() -> None:
    series = {"GAD-7": [(datetime(2025, 3, 10, 12, tzinfo=UTC), 11, "Moderate")]}
    root = parse(charts.trajectory_svg(series))
    (circle,) = points(panel(root, "GAD-7"))
    title = circle.find(f"{SVG}title")
    assert title is not None
    assert title.text == "GAD-7 on 10 Mar 2025: 11 (Moderate)"


def test_dates_are_shown_in_the_patients_time_zone() -> None:
    # 02:00 UTC on 10 March is still 9 March in New York.
    series = {"PHQ-9": [(datetime(2025, 3, 10, 2, tzinfo=UTC), 5, "Mild")]}
    svg = charts.trajectory_svg(series, tz=ZoneInfo("America/New_York"))
    assert "on 9 Mar 2025" in svg
    assert "on 10 Mar 2025" not in svg


def test_the_chart_is_an_image_named_by_its_title_and_description() -> None:
    root = parse(charts.trajectory_svg({"PHQ-9": weekly(12, 8)}, id_prefix="alex"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "alex-title alex-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "alex-title"
    assert desc is not None and desc.get("id") == "alex-desc"
    assert "PHQ-9: 2 scores, from 12 on 3 Mar 2025 to 8 on 10 Mar 2025." in (desc.text or "")


def test_axes_have_score_ticks_and_dates() -> None:
    root = parse(charts.trajectory_svg({"PHQ-9": weekly(12, 8, 6, 5, 3)}))
    group = panel(root, "PHQ-9")
    texts = list(group.iter(f"{SVG}text"))
    ticks = [t.text for t in texts if t.get("class") == "tick"]
    assert ticks == ["0", "5", "10", "15", "20", "27"]
    dates = [t.text for t in texts if t.get("class") == "date"]
    assert dates == ["3 Mar", "17 Mar", "31 Mar"]


def test_no_inline_style_anywhere() -> None:
    svg = charts.trajectory_svg({"PHQ-9": weekly(12, 8), "GAD-7": weekly(9, 4)})
    root = parse(svg)
    assert all("style" not in element.attrib for element in root.iter())
    assert "<style" not in svg


def test_an_unscored_response_is_not_drawn_and_a_lone_point_is_centred() -> None:
    root = parse(charts.trajectory_svg({"PHQ-9": weekly(None, 9)}))
    (circle,) = points(panel(root, "PHQ-9"))
    assert float(circle.get("cx", "0")) == pytest.approx((charts.PLOT_LEFT + charts.PLOT_RIGHT) / 2)


def test_no_scores_gives_a_friendly_sentence_not_a_broken_chart() -> None:
    cases: list[dict[str, list[charts.SeriesPoint]]] = [
        {},
        {"PHQ-9": [], "GAD-7": []},
        {"PHQ-9": weekly(None)},
    ]
    for empty in cases:
        html = charts.trajectory_svg(empty)
        assert "<svg" not in html
        assert "No scores yet" in html
        ET.fromstring(html)  # noqa: S314  (still well-formed)


def test_an_instrument_without_scores_gets_an_empty_panel_beside_one_with_scores() -> None:
    root = parse(charts.trajectory_svg({"PHQ-9": weekly(10, 6), "GAD-7": []}))
    gad = panel(root, "GAD-7")
    assert points(gad) == []
    assert any(t.text == "No scores yet" for t in gad.iter(f"{SVG}text"))
    assert len(bands(gad)) == 4


def test_the_same_series_always_draws_the_same_chart() -> None:
    series = {"PHQ-9": weekly(14, 9, 5), "GAD-7": weekly(10, 7)}
    assert charts.trajectory_svg(series) == charts.trajectory_svg(dict(series))


def test_text_in_the_chart_is_escaped() -> None:
    svg = charts.trajectory_svg({"PHQ-9": weekly(3, band="<b>&")})
    assert "<b>" not in svg
    parse(svg)


def test_table_rows_list_every_response_newest_first() -> None:
    rows = charts.table_rows({"PHQ-9": weekly(12, None), "GAD-7": weekly(8)})
    assert [(r["instrument"], r["total"]) for r in rows] == [
        ("PHQ-9", None),
        ("PHQ-9", 12),  # answered at the same time as GAD-7: PHQ-9 first, as in the chart
        ("GAD-7", 8),
    ]
    assert rows[0]["date"] == "10 Mar 2025"
