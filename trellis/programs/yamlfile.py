"""YAML files read with line numbers, and the checks shared by every content file.

Content packs (`pack.yaml`) and questionnaire files (`*.instrument.yaml`) are both written by
people and checked before anything is stored: each problem is reported with its file and
line, all at once. Both readers load YAML through `load` (which keeps the line of every
mapping, key and list item, and notes duplicate keys) and check fields with a
`FieldChecker`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True, order=True)
class Problem:
    """One thing an author must fix: the file (relative to the pack), the line, a reason."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"

    def located_in(self, folder: Path | str) -> str:
        """The problem with the file named from `folder`, as a terminal prints it."""
        return f"{Path(folder) / self.file}:{self.line}: {self.message}"


class LineDict(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key."""

    line: int = 1
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int = 1
    item_lines: list[int]


class LineLoader(yaml.SafeLoader):
    duplicates: list[tuple[int, str, int]]


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            loader.duplicates.append((line, "a key must be a plain name", 0))
            continue
        if key in mapping:
            loader.duplicates.append((line, str(key), mapping.key_lines[key]))
            continue
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


def _construct_sequence(loader: LineLoader, node: yaml.SequenceNode) -> LineList:
    items = LineList(loader.construct_object(child, deep=True) for child in node.value)
    items.line = node.start_mark.line + 1
    items.item_lines = [child.start_mark.line + 1 for child in node.value]
    return items


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def key_line(mapping: Any, key: str) -> int:
    if isinstance(mapping, LineDict):
        return mapping.key_lines.get(key, mapping.line)
    return getattr(mapping, "line", 1)


def line_of(value: Any, default: int) -> int:
    return getattr(value, "line", default)


class FieldChecker:
    """Collects problems found in one content file; subclasses add their own field checks."""

    problems: list[Problem]

    def add(self, line: int, message: str) -> None:
        raise NotImplementedError

    def fields(
        self, mapping: LineDict, where: str, required: Iterable[str], optional: Iterable[str]
    ) -> None:
        required = list(required)
        known = [*required, *optional]
        for name in required:
            if name not in mapping:
                self.add(mapping.line, f"{where} is missing the required field '{name}'")
        for name in mapping:
            if name not in known:
                hint = difflib.get_close_matches(str(name), known, n=1)
                also = f" (did you mean '{hint[0]}'?)" if hint else ""
                self.add(key_line(mapping, name), f"{where} has an unknown field '{name}'{also}")
