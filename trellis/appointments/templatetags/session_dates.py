"""A session's day as each language writes it: "Sunday 6 December", "sunnuntai 6.
joulukuuta", "domingo 6 de diciembre" (the weekday, then the language's MONTH_DAY_FORMAT).

A fixed "l j F" wrote Finnish months in the nominative ("6 joulukuu").
"""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.formats import date_format

register = template.Library()


@register.filter(expects_localtime=True)
def weekday_day(value: date | None) -> str:
    """The weekday and the day of the month; a datetime in the current time zone."""
    if not value:
        return ""
    return f"{date_format(value, 'l')} {date_format(value, 'MONTH_DAY_FORMAT')}"
