"""A string marked for translation inside an f-string never reaches the catalogue: the
extractor reads `_("...")` in ordinary code but not inside f-strings, so such a string
stays English in every language while the catalogue check sees nothing missing. Mark the
text outside the f-string (a constant with `gettext_noop`, or a local variable) instead."""

from __future__ import annotations

import ast
from pathlib import Path

CODE = Path(__file__).resolve().parent.parent / "trellis"
MARKERS = {"_", "gettext", "gettext_lazy", "pgettext", "ngettext", "gettext_noop"}


def marked_in_fstrings(source: str) -> list[int]:
    """Lines where a translation marker with a literal argument sits inside an f-string."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.JoinedStr):
            continue
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and inner.func.id in MARKERS
                and any(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in inner.args
                )
            ):
                lines.append(inner.lineno)
    return lines


def test_the_check_finds_a_marked_string_inside_an_fstring() -> None:
    assert marked_in_fstrings("x = f'<p>{_(\"Hello\")}</p>'\n") == [1]
    assert marked_in_fstrings("hello = _('Hello')\nx = f'<p>{hello}</p>'\n") == []


def python_sources() -> list[Path]:
    """Trellis's Python files. Not the passing copies the extractor makes of templates
    (`page.html.py`, written and removed while `trellis i18n extract` runs, perhaps in
    another test at the same moment): they are not code."""
    return [
        path
        for path in sorted(CODE.rglob("*.py"))
        if Path(path.stem).suffix not in {".html", ".txt"}
    ]


def test_no_string_is_marked_for_translation_inside_an_fstring() -> None:
    found = {
        str(path.relative_to(CODE)): lines
        for path in python_sources()
        if (lines := marked_in_fstrings(path.read_text(encoding="utf-8")))
    }
    assert not found, f"Marked for translation inside an f-string (file: lines): {found}"
