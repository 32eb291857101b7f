"""Template filters of the delivery-rates page."""

from __future__ import annotations

import math

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.125 -> "12.5%" in the reader's number format; "—" when there is nothing to divide."""
    if rate is None:
        return "—"
    value = rate * 100
    digits = 0 if value in (0, 100) or value >= 10 else 1
    scale = 10**digits
    rounded = math.floor(value * scale + 0.5) / scale  # half up: 12.5% reads 13%
    return f"{number_format(rounded, digits)}%"
