"""Crisis numbers a patient can tap: the clinic's crisis text with every phone number as a
`tel:` link, and a `sms:` link beside numbers the text says can be texted.

The text is the clinic's own (clinic settings), so it is escaped first; only the numbers
found in it become links.
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()

# A phone number as people write one: an optional +, then digits with spaces, dots, hyphens
# or brackets between them, at least three digits in all ("988", "116 123",
# "+358 9 2525 0111", "1-800-273-8255"). Times ("10:00") and "24/7" are not numbers here.
NUMBER = re.compile(r"(?<![\w/:.])\+?\d[\d ().\-]*\d(?![\w/:])|(?<![\w/:.])\d{3,}(?![\w/:])")
TEXTABLE = re.compile(r"\btext\b", re.IGNORECASE)


def _digits(number: str) -> str:
    return ("+" if number.startswith("+") else "") + re.sub(r"\D", "", number)


def linked_numbers(text: str) -> str:
    """Escaped `text` with each phone number of three or more digits as links (HTML)."""
    escaped = escape(text)
    out: list[str] = []
    last = 0
    for match in NUMBER.finditer(escaped):
        number = match.group(0).strip()
        dial = _digits(number)
        if len(dial.lstrip("+")) < 3 or re.fullmatch(r"(19|20)\d\d", number):
            continue  # too short to dial, or a year
        out.append(escaped[last : match.start()])
        out.append(f'<a class="tel" href="tel:{dial}">{number}</a>')
        if TEXTABLE.search(escaped[max(0, match.start() - 25) : match.start()]):
            label = escape(_("send a text"))
            out.append(f' (<a class="sms" href="sms:{dial}">{label}</a>)')
        last = match.end()
    out.append(escaped[last:])
    return "".join(out)


@register.filter
def crisis_links(text: str | None) -> SafeString:
    """The crisis text in paragraphs, its numbers tap-to-call (and tap-to-text)."""
    return mark_safe(linebreaks(linked_numbers(text or "")))  # noqa: S308 (escaped above)


@register.filter
def crisis_links_br(text: str | None) -> SafeString:
    """The same, with line breaks instead of paragraphs (for text inside a paragraph)."""
    html = linked_numbers(text or "").replace("\r\n", "\n").replace("\n", "<br>")
    return mark_safe(html)  # noqa: S308 (escaped above)
