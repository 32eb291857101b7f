"""Charts of insights, drawn on the server as SVG (each page shows a table beside it)."""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

SIZE = 240
PAD = 28


def _x(value: float) -> float:
    return round(PAD + value * (SIZE - 2 * PAD), 1)


def _y(value: float) -> float:
    return round(SIZE - PAD - value * (SIZE - 2 * PAD), 1)


def calibration(rows: list[dict[str, Any]]) -> SafeString:
    """Predicted against observed, one dot per bin (its area by count), and the diagonal a
    perfectly calibrated model would follow."""
    if not rows:
        return SafeString("")
    largest = max(int(r["count"]) for r in rows) or 1
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="{}" class="point" fill="#1f6f5c" stroke="#ffffff">'
        "<title>{}</title></circle>",
        (
            (
                _x(float(r["predicted"])),
                _y(float(r["observed"])),
                round(2.5 + 6.5 * (int(r["count"]) / largest) ** 0.5, 1),
                _("predicted %(p)s, observed %(o)s, %(n)s")
                % {
                    "p": f"{float(r['predicted']):.0%}",
                    "o": f"{float(r['observed']):.0%}",
                    "n": r["count"],
                },
            )
            for r in rows
        ),
    )
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>',
        (
            (_x(v), SIZE - PAD + 13, f"{v:.0%}", PAD - 4, _y(v) + 4, f"{v:.0%}")
            for v in (0.0, 0.5, 1.0)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart calibration" '
        'viewBox="0 0 {size} {size}" role="img" aria-labelledby="calibration-title">'
        '<title id="calibration-title">{title}</title>'
        '<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" class="grid" stroke="#d0d4d2"/>'
        '<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" class="grid" stroke="#d0d4d2"/>'
        '<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" class="grid" stroke="#d0d4d2"/>'
        '<line x1="{x1}" y1="{y0}" x2="{x1}" y2="{y1}" class="grid" stroke="#d0d4d2"/>'
        '<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#6b7370" '
        'stroke-dasharray="4 3"/>{ticks}{dots}'
        '<text x="{mid}" y="{bottom}" font-size="11" text-anchor="middle" '
        'class="axis-name">{predicted}</text>'
        '<text x="11" y="{mid}" font-size="11" text-anchor="middle" class="axis-name" '
        'transform="rotate(-90 11 {mid})">{observed}</text></svg>',
        size=SIZE,
        x0=_x(0),
        y0=_y(0),
        x1=_x(1),
        y1=_y(1),
        ticks=ticks,
        dots=dots,
        mid=SIZE // 2,
        bottom=SIZE - 4,
        title=_("Calibration: predicted risk against what happened"),
        predicted=_("Predicted"),
        observed=_("Observed"),
    )
