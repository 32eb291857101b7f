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


# Made for a phone: the charts scale with their box and their text stays readable. --------

# The narrowest box a chart sits in at 390 px: the staff progress page's card (390 px less
# the page's and the card's padding and border).
NARROWEST_BOX_PX = 330


def all_svgs() -> list[ET.Element]:
    return [
        parse(charts.trajectory_svg({"PHQ-9": weekly(18, 14, 11, 7, 4), "GAD-7": weekly(9, 4)})),
        parse(charts.mood_svg([(when, total or 1) for when, total, _b in weekly(3, 5, 8, 6, 7)])),
    ]


def test_charts_fill_their_box_and_keep_their_shape() -> None:
    for root in all_svgs():
        assert root.get("width") == "100%"
        assert root.get("height") is None  # the viewBox gives the height for the width
        assert root.get("preserveAspectRatio") == "xMinYMin meet"
        _x, _y, width, _height = (float(v) for v in root.get("viewBox", "").split())
        assert width == charts.WIDTH
        assert "chart" in (root.get("class") or "").split()


def test_every_label_is_at_least_12_px_in_the_narrowest_box_at_phone_size() -> None:
    scale = NARROWEST_BOX_PX / charts.WIDTH
    for root in all_svgs():
        texts = list(root.iter(f"{SVG}text"))
        assert texts
        for text in texts:
            assert float(text.get("font-size", "0")) * scale >= 12, text.text


def test_band_names_sit_inside_the_plot_so_it_keeps_the_whole_width() -> None:
    root = parse(charts.trajectory_svg({"PHQ-9": weekly(12, 8)}))
    names = [t for t in panel(root, "PHQ-9").iter(f"{SVG}text") if t.get("class") == "band-name"]
    assert [t.text for t in names] == ["Minimal", "Mild", "Moderate", "Moderately severe", "Severe"]
    for name in names:
        assert charts.PLOT_LEFT < float(name.get("x", "0")) <= charts.PLOT_RIGHT
        assert name.get("text-anchor") == "end"
    assert charts.PLOT_RIGHT - charts.PLOT_LEFT >= 0.85 * charts.WIDTH


# The mood chart ---------------------------------------------------------------------------


def moods(*scores: int) -> list[tuple[datetime, int]]:
    return [(START + timedelta(days=n), score) for n, score in enumerate(scores)]


def mood_circles(root: ET.Element) -> list[ET.Element]:
    return [c for c in root.iter(f"{SVG}circle") if c.get("class") == "point"]


def test_mood_chart_draws_one_point_per_check_in_better_moods_higher() -> None:
    root = parse(charts.mood_svg(moods(2, 9, 5)))
    found = mood_circles(root)
    assert len(found) == 3
    xs = [float(c.get("cx", "0")) for c in found]
    ys = {int(s): float(c.get("cy", "0")) for c, s in zip(found, (2, 9, 5), strict=True)}
    assert xs == sorted(xs)
    assert ys[9] < ys[5] < ys[2]
    top, bottom = charts.TOP, charts.MOOD_HEIGHT - charts.BOTTOM
    for circle in found:
        assert charts.PLOT_LEFT <= float(circle.get("cx", "nan")) <= charts.PLOT_RIGHT
        assert top <= float(circle.get("cy", "nan")) <= bottom


def test_mood_1_and_10_sit_on_the_bottom_and_top_of_the_plot() -> None:
    found = mood_circles(parse(charts.mood_svg(moods(1, 10))))
    assert float(found[0].get("cy", "0")) == pytest.approx(charts.MOOD_HEIGHT - charts.BOTTOM)
    assert float(found[1].get("cy", "0")) == pytest.approx(charts.TOP)


def test_mood_chart_is_named_and_each_point_says_when_and_how_good() -> None:
    root = parse(charts.mood_svg(moods(4, 7), tz=ZoneInfo("America/New_York"), id_prefix="m"))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "m-title m-desc"
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == "2 check-ins, from 4 out of 10 on 3 Mar 2025 to 7 out of 10 on 4 Mar 2025."
    titles = [c.findtext(f"{SVG}title") for c in mood_circles(root)]
    # 09:00 UTC is 04:00 in New York (EST).
    assert titles == [
        "Mood on 3 Mar 2025, 04:00: 4 out of 10",
        "Mood on 4 Mar 2025, 04:00: 7 out of 10",
    ]
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks == ["1", "4", "7", "10"]
    dates = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "date"]
    assert dates == ["3 Mar", "4 Mar"]


def test_mood_chart_in_any_order_is_drawn_oldest_to_newest_and_the_table_newest_first() -> None:
    newest_first = list(reversed(moods(3, 6, 8)))
    assert charts.mood_svg(newest_first) == charts.mood_svg(moods(3, 6, 8))
    rows = charts.mood_rows(newest_first)
    assert [r["score"] for r in rows] == [8, 6, 3]
    assert rows[0]["date"] == "5 Mar 2025, 09:00"


def test_mood_chart_with_one_or_no_check_in() -> None:
    (lone,) = mood_circles(parse(charts.mood_svg(moods(6))))
    assert float(lone.get("cx", "0")) == pytest.approx((charts.PLOT_LEFT + charts.PLOT_RIGHT) / 2)
    empty = charts.mood_svg([])
    assert "<svg" not in empty and "No check-ins yet." in empty
    svg = charts.mood_svg(moods(5, 6))
    assert "style" not in svg
