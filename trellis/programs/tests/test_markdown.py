"""Markdown from content packs renders to HTML that carries no markup of its own."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from trellis.programs.markdown import inspect, render

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<iframe src=https://evil.example></iframe>",
    "Hi <b onmouseover=alert(1)>there</b>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "[click](vbscript:msgbox)",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    '[x](https://ok.example "a" onclick="alert(1)")',
    "![pic](https://tracker.example/p.png)",
    "<!-- hidden --><style>body{}</style>",
]


SAFE_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "strong", "em"}
SAFE_TAGS |= {"code", "pre", "blockquote", "hr", "br"}


class _Elements(HTMLParser):
    """Every element and attribute in rendered HTML, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_renders_without_tags_or_script_links(text: str) -> None:
    parser = _Elements()
    parser.feed(render(text))
    assert parser.comments == []
    for tag, attrs in parser.elements:
        assert tag in SAFE_TAGS
        if tag == "a":
            assert set(attrs) <= {"href", "title", "target", "rel"}
            assert (attrs["href"] or "").startswith(("https:", "http:", "mailto:", "tel:"))
        else:
            assert attrs == {}


@pytest.mark.parametrize("text", HOSTILE[:-1])
def test_the_checker_finds_every_hostile_construct_with_its_line(text: str) -> None:
    findings = inspect("# Title\n\n" + text)
    if text.startswith("[x](https"):
        assert findings == []  # a title with quotes is text, not an attribute
    else:
        assert findings and all(f.line >= 3 for f in findings)


def test_web_links_open_in_a_new_tab_without_a_handle_on_trellis() -> None:
    html = render("See [the NHS](https://www.nhs.uk/) or [call](tel:111) or [mail](mailto:a@b.org)")
    assert (
        '<a href="https://www.nhs.uk/" target="_blank" rel="noopener noreferrer">the NHS</a>'
        in html
    )
    assert '<a href="tel:111">call</a>' in html
    assert '<a href="mailto:a@b.org">mail</a>' in html


def test_relative_links_stay_plain_text() -> None:
    assert "<a" not in render("[home](/journey/) and [part](#top)")


def test_ordinary_commonmark_renders() -> None:
    html = render("# Hello\n\n* one\n* two\n\n**bold** and _soft_ & 3 < 4")
    assert "<h1>Hello</h1>" in html
    assert "<li>one</li>" in html
    assert "<strong>bold</strong>" in html
    assert "&amp; 3 &lt; 4" in html


def test_inspect_reports_html_on_the_line_it_appears() -> None:
    text = "Line one\nline two has <b>bold</b>\n\n<div>\nblock\n</div>\n\n[a](javascript:x)\n"
    assert [(f.line, f.message.split(" (")[0]) for f in inspect(text)] == [
        (2, "raw HTML is not allowed in Markdown"),
        (4, "raw HTML is not allowed in Markdown"),
        (
            8,
            "link to 'javascript:' is not allowed; "
            "links must start with https:, http:, mailto: or tel:",
        ),
    ]
