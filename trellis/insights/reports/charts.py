"""The reports' charts, drawn on the server as SVG; each page shows its table with it.

Drawn for a phone first (a viewBox about a phone's width, text at 14 units) and scaled up
with its box on a desk. No `style=` attribute (the Content-Security-Policy refuses inline
styles): colours are presentation attributes, and each series also differs by its dash
pattern, so none is told apart by colour alone. Lines are <path>s (the stylesheet colours
every <polyline> and <line> of a chart with the accent). Every chart has a <title> and a
<desc> named by aria-labelledby.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from trellis.insights.reports.retention import Curve

WIDTH = 360
FONT = 14
LEFT, RIGHT, TOP = 44, 12, 16
PLOT_HEIGHT = 200
# Colour and dash of each series, in order (colour-blind-safe hues, each with a pattern).
SERIES = (
    ("#1f6b4f", ""),
    ("#8a4b00", "8 4"),
    ("#3b4fa0", "2 3"),
    ("#9c2f5c", "10 3 2 3"),
    ("#4a564f", "4 4"),
    ("#006d77", "1 5"),
)
INK = "#1d2521"
GRID = "#c9d1cc"


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _svg(chart_id: str, title: str, desc: str, height: float, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart report-chart" viewBox="0 0 {w} {h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{title}</title>'
        '<desc id="{id}-desc">{desc}</desc>{body}</svg>',
        w=WIDTH,
        h=round(height),
        id=chart_id,
        title=title,
        desc=desc,
        body=body,
    )


def bars(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float | None, str]],
    *,
    target: float | None = None,
) -> SafeString:
    """Horizontal bars of lengths 0 to 1, each with its label above it: (label, length,
    the text written after the bar, or instead of it when the length is None)."""
    if not rows:
        return SafeString("")
    step = 46
    left, right = 8, WIDTH - 84  # room after the longest bar for its text
    span = right - left
    parts = []
    for n, (label, value, text) in enumerate(rows):
        top = TOP + n * step
        parts.append(
            format_html('<text x="{}" y="{}" font-size="{}">{}</text>', left, top + 12, FONT, label)
        )
        if value is None:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="{}" class="axis-name">{}</text>',
                    left,
                    top + 32,
                    FONT,
                    text,
                )
            )
            continue
        width = max(1.0, round(span * max(0.0, min(1.0, value)), 1))
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="16" fill="{}" rx="2">'
                "<title>{}: {}</title></rect>"
                '<text x="{}" y="{}" font-size="{}">{}</text>',
                left,
                top + 18,
                width,
                SERIES[0][0],
                label,
                text,
                left + width + 4,
                top + 31,
                FONT,
                text,
            )
        )
    height = TOP + len(rows) * step + 8
    if target is not None:
        x = left + span * target
        parts.append(
            format_html(
                '<path d="M{x} {y0} V{y1}" stroke="{ink}" stroke-dasharray="4 3" fill="none"/>'
                '<text x="{x}" y="{ty}" font-size="{f}" text-anchor="middle">{label}</text>',
                x=round(x, 1),
                y0=TOP - 2,
                y1=height - 18,
                ink=INK,
                ty=height - 2,
                f=FONT,
                label=_("target %(share)s") % {"share": _pct(target)},
            )
        )
        height += 6
    return _svg(
        chart_id,
        title,
        _("One bar for each group; the same figures are in the table."),
        height,
        SafeString("".join(parts)),
    )


def _axes(
    x_ticks: Sequence[tuple[float, str]],
    y_ticks: Sequence[tuple[float, str]],
    x_name: str,
    plot_w: float,
) -> SafeString:
    grid = format_html_join(
        "",
        '<path d="M{} {} H{}" stroke="{}" fill="none"/>'
        '<text x="{}" y="{}" font-size="{}" text-anchor="end">{}</text>',
        ((LEFT, y, LEFT + plot_w, GRID, LEFT - 4, y + 5, FONT, label) for y, label in y_ticks),
    )
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="{}" text-anchor="middle">{}</text>',
        ((x, TOP + PLOT_HEIGHT + 18, FONT, label) for x, label in x_ticks),
    )
    name = format_html(
        '<text x="{}" y="{}" font-size="{}" text-anchor="middle" class="axis-name">{}</text>',
        LEFT + plot_w / 2,
        TOP + PLOT_HEIGHT + 38,
        FONT,
        x_name,
    )
    return SafeString(grid + ticks + name)


def _legend(labels: Sequence[str], top: float) -> tuple[SafeString, float]:
    rows = []
    for n, label in enumerate(labels):
        colour, dash = SERIES[n % len(SERIES)]
        y = top + n * 22
        rows.append(
            format_html(
                '<path d="M{} {} h28" stroke="{}" stroke-width="3" stroke-dasharray="{}" '
                'fill="none"/><text x="{}" y="{}" font-size="{}">{}</text>',
                LEFT,
                y,
                colour,
                dash or "none",
                LEFT + 36,
                y + 5,
                FONT,
                label,
            )
        )
    return SafeString("".join(rows)), top + len(labels) * 22


def retention(
    chart_id: str, title: str, curves: Sequence[tuple[str, Curve]], *, last_day: int = 84
) -> SafeString:
    """Kaplan-Meier step curves (share still active by day) with their 95% bands shaded."""
    if not curves:
        return SafeString("")
    plot_w = WIDTH - LEFT - RIGHT

    def x(day: float) -> float:
        return round(LEFT + plot_w * min(day, last_day) / last_day, 1)

    def y(share: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - share), 1)

    parts = []
    for n, (_label, curve) in enumerate(curves):
        colour, dash = SERIES[n % len(SERIES)]
        times = [int(t) for t in curve.times if t <= last_day]
        if not times:
            continue
        end = min(last_day, int(curve.times[-1]))
        line, upper, lower = [], [], []
        for i, t in enumerate(times):
            following = times[i + 1] if i + 1 < len(times) else end
            for day in (t, following):
                line.append(f"{x(day)} {y(float(curve.survival[i]))}")
                upper.append(f"{x(day)} {y(float(curve.upper[i]))}")
                lower.append(f"{x(day)} {y(float(curve.lower[i]))}")
        band = "M" + " L".join(upper + lower[::-1]) + " Z"
        parts.append(
            format_html(
                '<path d="{}" fill="{}" fill-opacity="0.15" stroke="none"/>'
                '<path d="M{}" fill="none" stroke="{}" stroke-width="2.5" '
                'stroke-dasharray="{}"/>',
                band,
                colour,
                " L".join(line),
                colour,
                dash or "none",
            )
        )
    x_ticks = [(x(d), str(d)) for d in (0, 14, 28, 42, 56, 70, 84) if d <= last_day]
    y_ticks = [(y(v), _pct(v)) for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    axes = _axes(x_ticks, y_ticks, _("Days since starting"), plot_w)
    legend, bottom = _legend([label for label, _c in curves], TOP + PLOT_HEIGHT + 60)
    return _svg(
        chart_id,
        title,
        _(
            "The share of patients still active on each day since they started, one line "
            "for each group, with its 95% band shaded; the figures at days 7 to 84 are in "
            "the table."
        ),
        bottom + 4,
        SafeString(axes + "".join(parts) + legend),
    )


def weekly_lines(
    chart_id: str,
    title: str,
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    top_value: float = 7.0,
) -> SafeString:
    """One line per group across weeks 1 to N (active days a week, 0 to 7)."""
    if not series:
        return SafeString("")
    weeks = max(len(values) for _label, values in series)
    plot_w = WIDTH - LEFT - RIGHT

    def x(week: int) -> float:
        return round(LEFT + plot_w * (week - 1) / max(1, weeks - 1), 1)

    def y(value: float) -> float:
        return round(TOP + PLOT_HEIGHT * (1 - value / top_value), 1)

    parts = []
    for n, (_label, values) in enumerate(series):
        colour, dash = SERIES[n % len(SERIES)]
        points = " L".join(f"{x(w + 1)} {y(float(v))}" for w, v in enumerate(values))
        parts.append(
            format_html(
                '<path d="M{}" fill="none" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/>',
                points,
                colour,
                dash or "none",
            )
        )
    x_ticks = [(x(w), str(w)) for w in range(1, weeks + 1)]
    y_ticks = [(y(v), str(int(v))) for v in (0, 1, 2, 3, 4, 5, 6, 7) if v <= top_value]
    axes = _axes(x_ticks, y_ticks, _("Week of the program (active days in it)"), plot_w)
    legend, bottom = _legend([label for label, _v in series], TOP + PLOT_HEIGHT + 60)
    return _svg(
        chart_id,
        title,
        _("Active days in each of the first 8 weeks, one line for each group (its average)."),
        bottom + 4,
        SafeString(axes + "".join(parts) + legend),
    )
