"""Charts a page of a higher app draws from what it already holds: `{% mood_chart recent %}`
on the mood page (journey) draws the check-ins it lists, without measures reading them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils import timezone

from trellis.measures import charts

register = template.Library()


@register.inclusion_tag("measures/_mood_chart.html")
def mood_chart(checkins: Iterable[Any], id_prefix: str = "mood") -> dict[str, Any]:
    """The mood chart and its table from check-ins with `created_at` and `score`, dated in
    the time zone the page is shown in."""
    points = [(c.created_at, int(c.score)) for c in checkins]
    zone = timezone.get_current_timezone()
    return {
        "chart": charts.mood_svg(points, tz=zone, id_prefix=id_prefix),
        "rows": charts.mood_rows(points, zone),
        "caption_id": f"{id_prefix}-caption",
    }
