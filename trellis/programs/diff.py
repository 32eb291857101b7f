"""What changed between two published versions of a program, for authors and reviewers.

Works on the versions' `source` (the normalized pack, Markdown included), so it shows
what the author changed, not what the renderer made of it.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

PROGRAM_FIELDS = ("title", "summary", "language", "conditions", "intended_use")
CHAPTER_FIELDS = ("title", "skills", "intro_md", "closing_md", "min_days")
# Fields added to the format later, with the value an older version's source means.
DEFAULTS: dict[str, Any] = {"min_days": 0}
STEP_FIELDS = (
    "chapter",
    "kind",
    "exercise",
    "title",
    "minutes",
    "body_md",
    "hint",
    "prompt",
    "instrument",
    "settings",
    "unlock",
    "short_version",
)
TEXT_FIELDS = {"intro_md", "closing_md", "body_md", "summary", "prompt"}
LABELS = {"intro_md": "intro", "closing_md": "closing", "body_md": "body"}
MAX_DIFF_LINES = 14


@dataclass
class Change:
    """One chapter or step added, removed or changed (with a line per changed field)."""

    action: Literal["added", "removed", "changed"]
    what: Literal["program", "chapter", "step"]
    key: str
    title: str = ""
    details: list[str] = field(default_factory=list)


def _short(value: Any) -> str:
    """A value on one line: text in quotes, numbers and rules as written in JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", " ")
    text = text if len(text) <= 70 else text[:67] + "..."
    return f'"{text}"' if isinstance(value, str) else text


def _text_diff(old: str, new: str) -> list[str]:
    lines = [
        line
        for line in difflib.unified_diff(
            (old or "").splitlines(), (new or "").splitlines(), lineterm="", n=1
        )
        if not line.startswith(("---", "+++"))
    ]
    if len(lines) > MAX_DIFF_LINES:
        hidden = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... ({hidden} more lines)"]
    return lines


def _field_changes(old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    details: list[str] = []
    for name in fields:
        before = old.get(name, DEFAULTS.get(name))
        after = new.get(name, DEFAULTS.get(name))
        if before == after:
            continue
        label = LABELS.get(name, name)
        if name in TEXT_FIELDS and isinstance(before, str) and isinstance(after, str):
            details.append(f"{label}:")
            details.extend(f"    {line}" for line in _text_diff(before, after))
        else:
            details.append(f"{label}: {_short(before)} → {_short(after)}")
    return details


def _steps(source: dict[str, Any]) -> dict[str, dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    for chapter in source.get("chapters", []):
        for step in chapter.get("steps", []):
            steps[step["key"]] = {**step, "chapter": chapter["key"]}
    return steps


def diff_sources(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference between two normalized packs, program first, then chapters, steps."""
    changes: list[Change] = []
    details = _field_changes(old, new, PROGRAM_FIELDS)
    if details:
        changes.append(Change("changed", "program", new.get("slug", ""), new["title"], details))

    old_chapters = {c["key"]: c for c in old.get("chapters", [])}
    new_chapters = {c["key"]: c for c in new.get("chapters", [])}
    old_chapter_order = [k for k in old_chapters if k in new_chapters]
    new_chapter_order = [k for k in new_chapters if k in old_chapters]
    for key, chapter in new_chapters.items():
        if key not in old_chapters:
            changes.append(Change("added", "chapter", key, chapter["title"]))
            continue
        details = _field_changes(old_chapters[key], chapter, CHAPTER_FIELDS)
        before, after = old_chapter_order.index(key), new_chapter_order.index(key)
        if before != after:
            details.append(f"moved: chapter {before + 1} → chapter {after + 1}")
        if details:
            changes.append(Change("changed", "chapter", key, chapter["title"], details))
    changes.extend(
        Change("removed", "chapter", key, chapter["title"])
        for key, chapter in old_chapters.items()
        if key not in new_chapters
    )

    old_steps, new_steps = _steps(old), _steps(new)
    old_order = [k for k in old_steps if k in new_steps]
    new_order = [k for k in new_steps if k in old_steps]
    for key, step in new_steps.items():
        if key not in old_steps:
            changes.append(
                Change("added", "step", key, step["title"], [f"in chapter {step['chapter']!r}"])
            )
            continue
        details = _field_changes(old_steps[key], step, STEP_FIELDS)
        if (
            old_order.index(key) != new_order.index(key)
            and old_steps[key]["chapter"] == step["chapter"]
        ):
            details.append("moved: its place in the program's order changed")
        if details:
            changes.append(Change("changed", "step", key, step["title"], details))
    changes.extend(
        Change("removed", "step", key, step["title"])
        for key, step in old_steps.items()
        if key not in new_steps
    )
    return changes


SIGNS = {"added": "+", "removed": "-", "changed": "~"}


def format_changes(changes: list[Change], heading: str) -> str:
    """The changes as plain text for a terminal."""
    lines = [heading]
    if not changes:
        lines.append("  No differences.")
        return "\n".join(lines)
    for change in changes:
        title = f' "{change.title}"' if change.title else ""
        lines.append(f"  {SIGNS[change.action]} {change.what:<7} {change.key}{title}")
        lines.extend(f"      {detail}" for detail in change.details)
    counts = {action: sum(c.action == action for c in changes) for action in SIGNS}
    lines.append(
        f"{len(changes)} change{'s' if len(changes) != 1 else ''}: "
        f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed"
    )
    return "\n".join(lines)
