"""Charts drawn on the server as SVG: the trajectory chart (PHQ-9 and GAD-7 totals over
time) and the mood chart (the patient's 1-10 check-ins over time).

Pure and deterministic: the same series give the same text, with no database, no clock
and no randomness, so a chart can be tested by parsing it. Each instrument gets its own
small panel, because their ranges and bands differ (PHQ-9 0-27, GAD-7 0-21); drawing both
on one axis would put the bands in the wrong place for one of them.

Made for a phone first: the viewBox is about a phone's width and the SVG fills its box
(width 100%), so text drawn at FONT units shows at least 12 px at 390 px; trellis.css caps
the width at desk size. The SVG carries no `style=` attribute (the Content-Security-Policy
refuses inline styles): colours are presentation attributes (fill, stroke). Every chart
has a text alternative: a `<title>` and `<desc>` named by aria-labelledby, a `<title>` on
each point, and the table the page shows with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# The words drawn inside the charts. They are marked here, outside the f-strings that place
# them (the catalogue's extractor does not read inside f-strings), and translated where drawn.
SCORES_AXIS = gettext_noop("Higher score, more symptoms")
NO_SCORES_MARK = gettext_noop("No scores yet")
NO_SCORES = gettext_noop("No scores yet.")
NO_SCORES_HINT = gettext_noop("Your chart appears here after your first questionnaire.")
SCORES_TITLE = gettext_noop("Questionnaire scores over time")
NO_MOODS = gettext_noop("No check-ins yet.")
NO_MOODS_HINT = gettext_noop("Your mood chart appears here after your first check-in.")
MOOD_TITLE = gettext_noop("Your mood over time")
MOOD_HEADING = gettext_noop("Mood (1 very low, 10 very good)")
MOOD_AXIS = gettext_noop("Higher is a better mood")

# Geometry of one panel, in SVG user units. The chart is drawn for a phone: the viewBox is
# about as wide as a phone's screen, so one unit is about one CSS pixel there and the text
# (FONT units) stays at least 12 px; on a wider screen the SVG scales up with its box
# (width 100%, capped in trellis.css), never down to unreadable labels.
WIDTH = 360
PANEL_HEIGHT = 250
LEFT = 34  # room for the score ticks
RIGHT = 8
TOP = 30  # room for the panel heading
BOTTOM = 52  # room for the dates and the axis name
PLOT_LEFT = LEFT
PLOT_RIGHT = WIDTH - RIGHT
POINT_RADIUS = 6
FONT = 14  # ticks, band names, dates, axis names
TITLE_FONT = 16
# The smallest text any chart draws, in user units (tests hold the charts to it).
SMALLEST_FONT = FONT

INK = "#1d2521"
MUTED = "#4a564f"
LINE = "#1f6b4f"
# Light fills, darker with severity; text on them stays well above 4.5:1 contrast.
BAND_FILLS = ("#e3f1e8", "#f1f0d8", "#f7e4c6", "#f4d3c4", "#efc3c3")


@dataclass(frozen=True)
class BandSpec:
    """A score range with its name, e.g. 10-14 "Moderate"."""

    low: int
    high: int
    label: str


@dataclass(frozen=True)
class Scale:
    """What a panel needs to know about an instrument: its range and bands."""

    code: str
    title: str
    minimum: int
    maximum: int
    bands: tuple[BandSpec, ...]


def default_scales() -> dict[str, Scale]:
    """PHQ-9 and GAD-7 as published (Kroenke 2001; Spitzer 2006)."""
    return {
        "PHQ-9": Scale(
            "PHQ-9",
            _("PHQ-9 (low mood)"),
            0,
            27,
            (
                BandSpec(0, 4, _("Minimal")),
                BandSpec(5, 9, _("Mild")),
                BandSpec(10, 14, _("Moderate")),
                BandSpec(15, 19, _("Moderately severe")),
                BandSpec(20, 27, _("Severe")),
            ),
        ),
        "GAD-7": Scale(
            "GAD-7",
            _("GAD-7 (anxiety)"),
            0,
            21,
            (
                BandSpec(0, 4, _("Minimal")),
                BandSpec(5, 9, _("Mild")),
                BandSpec(10, 14, _("Moderate")),
                BandSpec(15, 21, _("Severe")),
            ),
        ),
    }


# One point of a series: (when it was submitted, total or None when not scorable, band).
SeriesPoint = tuple[datetime, int | None, str]


@dataclass(frozen=True)
class Point:
    when: datetime
    total: int
    band: str
    x: float
    y: float


def _fmt(value: float) -> str:
    """Coordinates with at most two decimals, so output is stable and short."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _date(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz) if tz is not None else moment
    return f"{local.day} {_month(local.month)} {local.year}"


def _short_date(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz) if tz is not None else moment
    return f"{local.day} {_month(local.month)}"


def _month(number: int) -> str:
    names = (
        _("Jan"),
        _("Feb"),
        _("Mar"),
        _("Apr"),
        _("May"),
        _("Jun"),
        _("Jul"),
        _("Aug"),
        _("Sep"),
        _("Oct"),
        _("Nov"),
        _("Dec"),
    )
    return str(names[number - 1])


def scored_points(series: Sequence[SeriesPoint]) -> list[tuple[datetime, int, str]]:
    """The points that have a total, oldest first (a response with no total is not drawn)."""
    kept = [(when, int(total), band or "") for when, total, band in series if total is not None]
    return sorted(kept, key=lambda p: p[0])


def place(series: Sequence[SeriesPoint], scale: Scale, top: float, height: float) -> list[Point]:
    """Positions of the points inside a panel's plot area (top..top+height)."""
    kept = scored_points(series)
    if not kept:
        return []
    first, last = kept[0][0], kept[-1][0]
    span = (last - first).total_seconds()
    width = PLOT_RIGHT - PLOT_LEFT
    pad = 16.0  # keep the first and last point clear of the axes
    placed = []
    for when, total, band in kept:
        if span > 0:
            x = PLOT_LEFT + pad + (width - 2 * pad) * (when - first).total_seconds() / span
        else:
            x = PLOT_LEFT + width / 2
        clamped = min(max(total, scale.minimum), scale.maximum)
        y = _y(clamped, scale, top, height)
        placed.append(Point(when, total, band, x, y))
    return placed


def _y(score: float, scale: Scale, top: float, height: float) -> float:
    fraction = (score - scale.minimum) / (scale.maximum - scale.minimum)
    return top + height * (1 - fraction)


def _band_edges(band: BandSpec, scale: Scale, top: float, height: float) -> tuple[float, float]:
    """A band's rectangle runs from half a point below its low to half above its high, so
    the bands of a scale tile its whole range with no gap."""
    low = scale.minimum if band.low <= scale.minimum else band.low - 0.5
    high = scale.maximum if band.high >= scale.maximum else band.high + 0.5
    return _y(high, scale, top, height), _y(low, scale, top, height)


def _panel(
    scale: Scale,
    series: Sequence[SeriesPoint],
    index: int,
    tz: tzinfo | None,
) -> list[str]:
    offset = index * PANEL_HEIGHT
    top = offset + TOP
    height = PANEL_HEIGHT - TOP - BOTTOM
    bottom = top + height
    out = [f'<g class="chart-panel" data-instrument={quoteattr(scale.code)}>']
    out.append(
        f'<text x="0" y="{offset + 20}" fill="{INK}" font-size="{TITLE_FONT}" '
        f'font-weight="700">{escape(scale.title)}</text>'
    )
    # Bands: one shaded rectangle each, named in its top right corner (inside the plot, so
    # the plot keeps the whole width on a phone; a point is drawn over the name).
    for number, band in enumerate(scale.bands):
        y_top, y_bottom = _band_edges(band, scale, top, height)
        fill = BAND_FILLS[min(number, len(BAND_FILLS) - 1)]
        out.append(
            f'<rect class="band" x="{PLOT_LEFT}" y="{_fmt(y_top)}" '
            f'width="{PLOT_RIGHT - PLOT_LEFT}" height="{_fmt(y_bottom - y_top)}" '
            f'fill="{fill}" data-low="{band.low}" data-high="{band.high}">'
            f"<title>{escape(f'{band.label}: {band.low}-{band.high}')}</title></rect>"
        )
        out.append(
            f'<text class="band-name" x="{PLOT_RIGHT - 6}" y="{_fmt(y_top + FONT + 1)}" '
            f'text-anchor="end" fill="{INK}" font-size="{FONT}">{escape(band.label)}</text>'
        )
    # Axes and score ticks at the start of each band and at the top of the scale.
    out.append(
        f'<line x1="{PLOT_LEFT}" y1="{_fmt(top)}" x2="{PLOT_LEFT}" y2="{_fmt(bottom)}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    out.append(
        f'<line x1="{PLOT_LEFT}" y1="{_fmt(bottom)}" x2="{PLOT_RIGHT}" y2="{_fmt(bottom)}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    ticks = sorted({scale.minimum, scale.maximum, *(b.low for b in scale.bands)})
    for tick in ticks:
        y = _y(tick, scale, top, height)
        out.append(
            f'<text class="tick" x="{PLOT_LEFT - 6}" y="{_fmt(y + 5)}" text-anchor="end" '
            f'fill="{INK}" font-size="{FONT}">{tick}</text>'
        )
    out.append(
        f'<text class="axis-name" x="0" y="{_fmt(bottom + 42)}" fill="{MUTED}" '
        f'font-size="{FONT}">{escape(_(SCORES_AXIS))}</text>'
    )
    points = place(series, scale, top, height)
    if not points:
        out.append(
            f'<text x="{_fmt((PLOT_LEFT + PLOT_RIGHT) / 2)}" y="{_fmt(top + height / 2)}" '
            f'text-anchor="middle" fill="{INK}" font-size="{FONT}">'
            f"{escape(_(NO_SCORES_MARK))}</text>"
        )
        out.append("</g>")
        return out
    # Dates under the first and last point (and the middle one when there are many).
    labelled = {0, len(points) - 1}
    if len(points) >= 5:
        labelled.add(len(points) // 2)
    for number in sorted(labelled):
        point = points[number]
        anchor = "middle"
        if len(points) > 1 and number == 0:
            anchor = "start"
        elif len(points) > 1 and number == len(points) - 1:
            anchor = "end"
        out.append(
            f'<text class="date" x="{_fmt(point.x)}" y="{_fmt(bottom + 20)}" '
            f'text-anchor="{anchor}" fill="{INK}" font-size="{FONT}">'
            f"{escape(_short_date(point.when, tz))}</text>"
        )
    if len(points) > 1:
        coords = " ".join(f"{_fmt(p.x)},{_fmt(p.y)}" for p in points)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    for point in points:
        label = _("%(instrument)s on %(date)s: %(total)s") % {
            "instrument": scale.code,
            "date": _date(point.when, tz),
            "total": point.total,
        }
        if point.band:
            label = f"{label} ({point.band})"
        out.append(
            f'<circle class="point" cx="{_fmt(point.x)}" cy="{_fmt(point.y)}" '
            f'r="{POINT_RADIUS}" fill="{LINE}" stroke="#ffffff" stroke-width="2">'
            f"<title>{escape(label)}</title></circle>"
        )
    out.append("</g>")
    return out


def _description(panels: list[tuple[Scale, Sequence[SeriesPoint]]], tz: tzinfo | None) -> str:
    parts = []
    for scale, series in panels:
        kept = scored_points(series)
        if not kept:
            parts.append(_("%(instrument)s: no scores yet.") % {"instrument": scale.code})
            continue
        first, last = kept[0], kept[-1]
        if len(kept) == 1:
            parts.append(
                _("%(instrument)s: one score, %(total)s on %(date)s.")
                % {"instrument": scale.code, "total": first[1], "date": _date(first[0], tz)}
            )
        else:
            parts.append(
                _(
                    "%(instrument)s: %(count)s scores, from %(first)s on %(first_date)s "
                    "to %(last)s on %(last_date)s."
                )
                % {
                    "instrument": scale.code,
                    "count": len(kept),
                    "first": first[1],
                    "first_date": _date(first[0], tz),
                    "last": last[1],
                    "last_date": _date(last[0], tz),
                }
            )
    return " ".join(str(p) for p in parts)


def trajectory_svg(
    series_by_instrument: Mapping[str, Sequence[SeriesPoint]],
    *,
    scales: Mapping[str, Scale] | None = None,
    tz: tzinfo | None = None,
    id_prefix: str = "trajectory",
) -> str:
    """The chart as SVG text, one panel per instrument that has a known scale.

    `series_by_instrument` maps an instrument code to its (submitted_at, total, band)
    points, as `trellis.measures.queries.series` returns them. With no score at all the
    result is a friendly sentence instead of an empty chart. `tz` shows dates in the
    patient's time zone; `id_prefix` keeps ids unique when a page shows two charts.
    """
    known = scales if scales is not None else default_scales()
    panels: list[tuple[Scale, Sequence[SeriesPoint]]] = [
        (known[code], series_by_instrument.get(code, ()))
        for code in known
        if code in series_by_instrument
    ]
    if not any(scored_points(series) for _scale, series in panels):
        return f'<p class="chart-empty">{escape(_(NO_SCORES))} {escape(_(NO_SCORES_HINT))}</p>'
    height = PANEL_HEIGHT * len(panels)
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trajectory" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{title_id} {desc_id}" font-family="system-ui, sans-serif">',
        f'<title id="{title_id}">{escape(_(SCORES_TITLE))}</title>',
        f'<desc id="{desc_id}">{escape(_description(panels, tz))}</desc>',
    ]
    for index, (scale, series) in enumerate(panels):
        out.extend(_panel(scale, series, index, tz))
    out.append("</svg>")
    return "\n".join(out)


def table_rows(
    series_by_instrument: Mapping[str, Sequence[SeriesPoint]], tz: tzinfo | None = None
) -> list[dict[str, Any]]:
    """The same scores as rows for the text table next to the chart, newest first."""
    rows = []
    for code, series in series_by_instrument.items():
        for when, total, band in series:
            local = when.astimezone(tz) if tz is not None else when
            rows.append(
                {
                    "when": local,
                    "date": _date(when, tz),
                    "instrument": code,
                    "total": total,
                    "band": band or "",
                }
            )
    rows.sort(key=lambda row: (row["when"], row["instrument"]), reverse=True)
    return rows


# The mood chart --------------------------------------------------------------------------

MOOD_LOW, MOOD_HIGH = 1, 10
MOOD_HEIGHT = 230
MOOD_TICKS = (1, 4, 7, 10)
GRID = "#c9d1cc"

# One mood check-in: (when, score 1-10).
MoodPoint = tuple[datetime, int]


def mood_points(checkins: Sequence[MoodPoint]) -> list[tuple[datetime, int, float, float]]:
    """(when, score, x, y) of each check-in inside the mood chart's plot, oldest first."""
    kept = sorted(((when, int(score)) for when, score in checkins), key=lambda p: p[0])
    if not kept:
        return []
    top, bottom = TOP, MOOD_HEIGHT - BOTTOM
    first, last = kept[0][0], kept[-1][0]
    span = (last - first).total_seconds()
    width = PLOT_RIGHT - PLOT_LEFT
    pad = 16.0
    placed = []
    for when, score in kept:
        if span > 0:
            x = PLOT_LEFT + pad + (width - 2 * pad) * (when - first).total_seconds() / span
        else:
            x = PLOT_LEFT + width / 2
        clamped = min(max(score, MOOD_LOW), MOOD_HIGH)
        y = top + (bottom - top) * (1 - (clamped - MOOD_LOW) / (MOOD_HIGH - MOOD_LOW))
        placed.append((when, score, x, y))
    return placed


def _moment(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz) if tz is not None else moment
    return f"{_date(moment, tz)}, {local:%H:%M}"


def mood_svg(
    checkins: Sequence[MoodPoint], *, tz: tzinfo | None = None, id_prefix: str = "mood"
) -> str:
    """The patient's mood check-ins (1 very low to 10 very good) over time, as SVG text.

    Drawn like the trajectory chart (same width, fonts and rules: no inline style, a title
    and description, a title on each point); with no check-in the result is a friendly
    sentence instead of an empty chart. `tz` shows dates in the patient's time zone."""
    placed = mood_points(checkins)
    if not placed:
        return f'<p class="chart-empty">{escape(_(NO_MOODS))} {escape(_(NO_MOODS_HINT))}</p>'
    top, bottom = TOP, MOOD_HEIGHT - BOTTOM
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    first, last = placed[0], placed[-1]
    if len(placed) == 1:
        summary = _("One check-in: %(score)s out of 10 on %(date)s.") % {
            "score": first[1],
            "date": _date(first[0], tz),
        }
    else:
        summary = _(
            "%(count)s check-ins, from %(first)s out of 10 on %(first_date)s "
            "to %(last)s out of 10 on %(last_date)s."
        ) % {
            "count": len(placed),
            "first": first[1],
            "first_date": _date(first[0], tz),
            "last": last[1],
            "last_date": _date(last[0], tz),
        }
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart mood-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {MOOD_HEIGHT}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{title_id} {desc_id}" font-family="system-ui, sans-serif">',
        f'<title id="{title_id}">{escape(_(MOOD_TITLE))}</title>',
        f'<desc id="{desc_id}">{escape(summary)}</desc>',
        f'<text x="0" y="20" fill="{INK}" font-size="{TITLE_FONT}" font-weight="700">'
        f"{escape(_(MOOD_HEADING))}</text>",
    ]
    for tick in MOOD_TICKS:
        y = top + (bottom - top) * (1 - (tick - MOOD_LOW) / (MOOD_HIGH - MOOD_LOW))
        out.append(
            f'<line class="grid" x1="{PLOT_LEFT}" y1="{_fmt(y)}" x2="{PLOT_RIGHT}" '
            f'y2="{_fmt(y)}" stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text class="tick" x="{PLOT_LEFT - 6}" y="{_fmt(y + 5)}" text-anchor="end" '
            f'fill="{INK}" font-size="{FONT}">{tick}</text>'
        )
    out.append(
        f'<line x1="{PLOT_LEFT}" y1="{_fmt(top)}" x2="{PLOT_LEFT}" y2="{_fmt(bottom)}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    labelled = {0, len(placed) - 1}
    if len(placed) >= 5:
        labelled.add(len(placed) // 2)
    for number in sorted(labelled):
        when, _score, x, _y = placed[number]
        anchor = "middle"
        if len(placed) > 1 and number == 0:
            anchor = "start"
        elif len(placed) > 1 and number == len(placed) - 1:
            anchor = "end"
        out.append(
            f'<text class="date" x="{_fmt(x)}" y="{_fmt(bottom + 20)}" text-anchor="{anchor}" '
            f'fill="{INK}" font-size="{FONT}">{escape(_short_date(when, tz))}</text>'
        )
    out.append(
        f'<text class="axis-name" x="0" y="{_fmt(bottom + 42)}" fill="{MUTED}" '
        f'font-size="{FONT}">{escape(_(MOOD_AXIS))}</text>'
    )
    if len(placed) > 1:
        coords = " ".join(f"{_fmt(x)},{_fmt(y)}" for _when, _score, x, y in placed)
        out.append(f'<polyline points="{coords}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    for when, score, x, y in placed:
        label = _("Mood on %(moment)s: %(score)s out of 10") % {
            "moment": _moment(when, tz),
            "score": score,
        }
        out.append(
            f'<circle class="point" cx="{_fmt(x)}" cy="{_fmt(y)}" r="{POINT_RADIUS}" '
            f'fill="{LINE}" stroke="#ffffff" stroke-width="2">'
            f"<title>{escape(label)}</title></circle>"
        )
    out.append("</svg>")
    return "\n".join(out)


def mood_rows(checkins: Sequence[MoodPoint], tz: tzinfo | None = None) -> list[dict[str, Any]]:
    """The same check-ins as rows for the table under the mood chart, newest first."""
    ordered = sorted(checkins, key=lambda p: p[0], reverse=True)
    return [
        {
            "when": when.astimezone(tz) if tz is not None else when,
            "date": _moment(when, tz),
            "score": score,
        }
        for when, score in ordered
    ]
