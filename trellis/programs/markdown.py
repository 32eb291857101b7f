"""Markdown of content packs, rendered to HTML that can never carry markup of its own.

Authors write CommonMark. Raw HTML is escaped (shown as text), images are not rendered,
and links work only for https, http, mailto and tel; any other link is shown as plain
text. Web links open in a new tab without giving the other site a handle on Trellis.

`inspect(text)` is the checker's view of the same text: every HTML tag, image and
unsafe link with its line number, so an author is told before a patient ever sees it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

SAFE_SCHEMES = ("https:", "http:", "mailto:", "tel:")
WEB_SCHEMES = ("https:", "http:")


def _scheme_ok(url: str) -> bool:
    return url.strip().lower().startswith(SAFE_SCHEMES)


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _scheme_ok  # type: ignore[method-assign]

    def link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        href = str(token.attrGet("href") or "")
        if href.lower().startswith(WEB_SCHEMES):
            token.attrSet("target", "_blank")
            token.attrSet("rel", "noopener noreferrer")
        return str(self.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


def _inspector() -> MarkdownIt:
    # Parses raw HTML and every link so the checker can point at them; never renders.
    md = MarkdownIt("commonmark", {"html": True, "linkify": False})
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_RENDER = _renderer()
_INSPECT = _inspector()


def render(text: str) -> str:
    """Safe HTML for a step body, chapter introduction or closing."""
    return _RENDER.render(text or "")


@dataclass(frozen=True)
class Finding:
    """Something in Markdown that would not reach the patient as written."""

    line: int  # 1-based, in the Markdown file
    message: str


def _inline_tokens(tokens: list[Token]) -> Iterator[tuple[int, Token]]:
    """Every token with its 1-based line, descending into inline children."""
    for token in tokens:
        start = token.map[0] + 1 if token.map else 1
        yield start, token
        if token.children:
            line = start
            for child in token.children:
                yield line, child
                if child.type in {"softbreak", "hardbreak"}:
                    line += 1
                elif child.type in {"html_inline", "text", "code_inline"}:
                    line += child.content.count("\n")


def inspect(text: str) -> list[Finding]:
    """Raw HTML, images and unsafe links in a Markdown text, each with its line."""
    findings: list[Finding] = []
    html_lines: set[int] = set()
    for line, token in _inline_tokens(_INSPECT.parse(text or "")):
        if token.type in {"html_block", "html_inline"}:
            if line in html_lines:  # one message per line: <b>..</b> is one mistake
                continue
            html_lines.add(line)
            snippet = token.content.strip().splitlines()[0][:40] if token.content.strip() else ""
            findings.append(
                Finding(line, f"raw HTML is not allowed in Markdown ({snippet}); write plain text")
            )
        elif token.type == "link_open":
            href = str(token.attrGet("href") or "")
            if not _scheme_ok(href):
                scheme = href.split(":", 1)[0] + ":" if ":" in href else href[:40]
                findings.append(
                    Finding(
                        line,
                        f"link to '{scheme}' is not allowed; links must start with "
                        "https:, http:, mailto: or tel:",
                    )
                )
        elif token.type == "image":
            findings.append(
                Finding(line, "images are not supported in Markdown; describe it in words")
            )
    return findings
