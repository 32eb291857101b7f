"""Colours keep WCAG AA contrast in the light and the dark scheme.

trellis/static/trellis/trellis.css defines every colour once as a custom property in
`:root` (light) and again inside `@media (prefers-color-scheme: dark)`. This test reads
both blocks and checks each pair of colours the stylesheets put together, with the WCAG
2.x relative-luminance formula: 4.5:1 for text, 3:1 for boundaries and parts of
graphics that must be seen (WCAG 1.4.3 and 1.4.11). Changing a colour to one that fails
a pair fails here; a new pair of colours in a stylesheet belongs in PAIRS.

A second test keeps the stylesheets on the custom properties: a colour written anywhere
else than those two blocks would not change with the scheme.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRELLIS_CSS = ROOT / "trellis" / "static" / "trellis" / "trellis.css"

TEXT = 4.5
BOUNDARY = 3.0

# (foreground, background, minimum ratio, where the pair appears)
PAIRS: list[tuple[str, str, float, str]] = [
    ("ink", "paper", TEXT, "body text on the page"),
    ("ink", "card", TEXT, "text in cards, tables, the header"),
    ("ink", "field", TEXT, "what a person types; answer options"),
    ("ink", "tint", TEXT, "step hints, secrets"),
    ("ink", "badge", TEXT, "badges"),
    ("ink", "badge-done", TEXT, "a done badge"),
    ("ink", "selected", TEXT, "a chosen questionnaire answer"),
    ("ink", "breath", TEXT, "the count inside the breathing circle"),
    ("muted", "paper", TEXT, "hints and meta lines on the page"),
    ("muted", "card", TEXT, "hints and meta lines in cards"),
    ("muted", "tint", TEXT, "a quiet step hint"),
    ("accent", "paper", TEXT, "links on the page"),
    ("accent", "card", TEXT, "links and secondary buttons in cards"),
    ("accent", "tint", TEXT, "links inside a step hint"),
    ("accent", "field", TEXT, "time links, answer option outlines"),
    ("accent-ink", "accent", TEXT, "button text"),
    ("danger", "paper", TEXT, "error messages on the page"),
    ("danger", "card", TEXT, "the crisis box heading, safety flags in tables"),
    ("on-danger", "danger", TEXT, "a danger button, the unread count"),
    *[(("ink", f"band-{n}", TEXT, f"chart text on band {n}")) for n in range(1, 6)],
    *[(("accent", f"band-{n}", BOUNDARY, f"the chart line over band {n}")) for n in range(1, 6)],
    ("accent", "breath", BOUNDARY, "the breathing circle's edge"),
    ("muted", "field", BOUNDARY, "input borders"),
    ("muted", "card", BOUNDARY, "chart axes"),
    ("danger", "card", BOUNDARY, "the crisis box border"),
    # The ring stands 2 px off the element it marks, so what lies next to it is the page
    # or the card, also around a filled button.
    ("focus", "paper", BOUNDARY, "the focus ring on the page"),
    ("focus", "card", BOUNDARY, "the focus ring in a card or the header"),
]


def _declarations(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*([^;]+);", block))


def schemes(css: str) -> dict[str, dict[str, str]]:
    """The custom properties of the light `:root` block and of the dark one."""
    dark_match = re.search(
        r"@media\s*\(prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{(?P<body>[^}]*)\}", css
    )
    assert dark_match, "trellis.css has no :root block for prefers-color-scheme: dark"
    light_match = re.search(r"^:root\s*\{(?P<body>[^}]*)\}", css, re.MULTILINE)
    assert light_match, "trellis.css has no top-level :root block"
    return {
        "light": _declarations(light_match["body"]),
        "dark": _declarations(dark_match["body"]),
    }


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG relative luminance of #rgb or #rrggbb."""
    hex_digits = colour.strip().lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(d * 2 for d in hex_digits)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", hex_digits), f"not an opaque hex colour: {colour}"
    red, green, blue = (_channel(int(hex_digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_formula_matches_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)


def test_dark_scheme_redefines_every_colour_of_the_light_one() -> None:
    both = schemes(TRELLIS_CSS.read_text())
    colours = {name for name, value in both["light"].items() if value.startswith(("#", "rgb"))}
    assert colours <= set(both["dark"]), f"no dark value for {colours - set(both['dark'])}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("foreground", "background", "minimum", "where"), PAIRS)
def test_colour_pair_meets_wcag_aa(
    scheme: str, foreground: str, background: str, minimum: float, where: str
) -> None:
    palette = schemes(TRELLIS_CSS.read_text())[scheme]
    ratio = contrast(palette[foreground], palette[background])
    assert ratio >= minimum, (
        f"{scheme}: --{foreground} on --{background} ({where}) is {ratio:.2f}:1, below {minimum}:1"
    )


COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(|\b(?:white|black)\s*[;}]")


def _stylesheets() -> list[Path]:
    return sorted((ROOT / "trellis").rglob("static/**/*.css"))


def test_stylesheets_use_the_custom_properties_not_their_own_colours() -> None:
    """Outside the two :root blocks of trellis.css, a colour is always a var(--...)."""
    assert _stylesheets(), "no stylesheets found"
    offenders = []
    for path in _stylesheets():
        css = path.read_text()
        if path == TRELLIS_CSS:
            css = re.sub(r":root\s*\{[^}]*\}", "", css)
        css = re.sub(r"/\*.*?\*/", lambda m: "\n" * m[0].count("\n"), css, flags=re.DOTALL)
        for number, line in enumerate(css.splitlines(), 1):
            if COLOUR.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "colours outside the custom properties:\n" + "\n".join(offenders)
