"""Reading and checking content packs: a folder with pack.yaml and Markdown files.

`load_pack(path)` reads a pack into its normalized form (plain JSON-ready data, with the
Markdown texts included) and collects every problem on the way, each with the file and
line an author must fix. `check_pack(path)` returns just the problems. Nothing here
touches the database; `trellis.programs.services.publish_pack` does that after a clean
check. The format is described in docs/content-format.md.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trellis.programs import markdown, translations
from trellis.programs.exercises import EXERCISE_KINDS, known_instruments
from trellis.programs.yamlfile import (
    FieldChecker,
    LineDict,
    LineList,
    LineLoader,
    Problem,
    key_line,
)

PACK_FILE = "pack.yaml"
FORMAT_VERSION = 1
KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
STEP_KINDS = ("lesson", "exercise", "questionnaire", "reflection")
UNLOCK_RULES = ("after", "days_after_chapter_start", "score")
MIN_MINUTES, MAX_MINUTES = 1, 15
MAX_KEY, MAX_TITLE, MAX_HINT, MAX_SUMMARY = 80, 200, 300, 1_000
MAX_MIN_DAYS = 365


class PackError(Exception):
    """A pack with problems, refused whole. `problems` lists every one of them."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"the pack has {count} problem{'s' if count != 1 else ''}")


# The pack ------------------------------------------------------------------------


@dataclass
class LoadedPack:
    """A pack as read from disk: its normalized data, the files it uses, its problems."""

    root: Path
    data: dict[str, Any]
    files: list[str]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def slug(self) -> str:
        return str(self.data.get("slug", ""))

    def checksum(self) -> str:
        """SHA-256 over pack.yaml and every Markdown file it uses, in a stable order."""
        digest = hashlib.sha256()
        for name in self.files:
            content = (self.root / name).read_bytes()
            digest.update(name.encode() + b"\0" + str(len(content)).encode() + b"\0")
            digest.update(content)
        return digest.hexdigest()


@dataclass
class _Checker(FieldChecker):
    root: Path
    problems: list[Problem] = field(default_factory=list)
    texts: dict[str, str | None] = field(default_factory=dict)

    def add(self, line: int, message: str, file: str = PACK_FILE) -> None:
        self.problems.append(Problem(file, line, message))

    def text(self, mapping: LineDict, name: str, where: str, max_length: int) -> str | None:
        if name not in mapping:
            return None
        value = mapping[name]
        line = key_line(mapping, name)
        if not isinstance(value, str) or not value.strip():
            self.add(line, f"{where}: '{name}' must be a non-empty text")
            return None
        if len(value) > max_length:
            self.add(line, f"{where}: '{name}' is longer than {max_length} characters")
            return None
        return value.strip()

    def key(self, mapping: LineDict, where: str) -> str | None:
        if "key" not in mapping:
            return None
        value = mapping["key"]
        if not isinstance(value, str) or not KEY_RE.match(value) or len(value) > MAX_KEY:
            self.add(
                key_line(mapping, "key"),
                f"{where}: key {value!r} must be lowercase letters, digits and hyphens "
                f"(at most {MAX_KEY} characters)",
            )
            return None
        return value

    def whole_number(
        self, mapping: LineDict, name: str, where: str, low: int, high: int
    ) -> int | None:
        if name not in mapping:
            return None
        value = mapping[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.add(
                key_line(mapping, name),
                f"{where}: '{name}' is {value!r}; it must be a whole number from {low} to {high}",
            )
            return None
        return value

    # Markdown files -----------------------------------------------------------

    def markdown_file(self, mapping: LineDict, name: str, where: str) -> tuple[str, str] | None:
        """(relative path, text) of a referenced Markdown file, reporting what is wrong."""
        if name not in mapping:
            return None
        value = mapping[name]
        line = key_line(mapping, name)
        if not isinstance(value, str) or not value.strip():
            self.add(line, f"{where}: '{name}' must be the path of a Markdown file")
            return None
        relative = Path(value.strip())
        root = self.root.resolve()
        target = (self.root / relative).resolve()
        if relative.is_absolute() or not target.is_relative_to(root):
            self.add(line, f"{where}: '{value}' is outside the pack folder")
            return None
        rel = target.relative_to(root).as_posix()
        if rel not in self.texts:
            self.texts[rel] = self._read_markdown(target, rel)
        text = self.texts[rel]
        if text is None and not target.is_file():
            self.add(line, f"{where}: the file '{value}' does not exist")
        if text is None:
            return None
        return rel, text

    def _read_markdown(self, target: Path, rel: str) -> str | None:
        if not target.is_file():
            return None
        try:
            text = target.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raw = target.read_bytes()
            bad_line = raw[: error.start].count(b"\n") + 1
            self.add(bad_line, "the file is not UTF-8 text", rel)
            return None
        if not text.strip():
            self.add(1, "the file is empty; write the text of this part here", rel)
            return None
        for finding in markdown.inspect(text):
            self.add(finding.line, finding.message, rel)
        return text


def load_pack(path: Path | str) -> LoadedPack:
    """Read and check one pack folder. Every problem is collected; none stops the reading."""
    root = Path(path)
    checker = _Checker(root)
    pack = LoadedPack(root=root, data={}, files=[PACK_FILE], problems=checker.problems)
    pack_file = root / PACK_FILE
    if not pack_file.is_file():
        checker.add(1, f"there is no {PACK_FILE} in {root}")
        return pack
    try:
        source = pack_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        checker.add(1, f"{PACK_FILE} is not UTF-8 text")
        return pack
    loader = LineLoader(source)
    loader.duplicates = []
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        reason = error.problem or "this is not valid YAML"
        checker.add(line, f"YAML does not parse: {reason}")
        return pack
    except yaml.YAMLError as error:
        checker.add(1, f"YAML does not parse: {error}")
        return pack
    finally:
        loader.dispose()
    for line, key, first in loader.duplicates:
        if first:
            checker.add(line, f"'{key}' appears twice in the same block (first on line {first})")
        else:
            checker.add(line, key)
    if not isinstance(document, LineDict):
        checker.add(1, f"{PACK_FILE} must be a mapping of fields (slug, title, chapters...)")
        return pack
    pack.data = _program(checker, document)
    # The pack's other languages (locale/<language>/), checked against the English keys.
    words, translated_files, trouble = translations.load(root, pack.data)
    pack.data["translations"] = words
    checker.problems.extend(trouble)
    pack.files = [
        PACK_FILE,
        *sorted(name for name, text in checker.texts.items() if text),
        *sorted(translated_files),
    ]
    checker.problems.sort(key=lambda p: (p.file != PACK_FILE, p.file, p.line))
    return pack


def check_pack(path: Path | str) -> list[Problem]:
    """Every problem in the pack at `path` (empty when it is clean)."""
    return load_pack(path).problems


def find_packs(folder: Path | str) -> list[Path]:
    """The pack at `folder`, or each pack folder directly inside it, in name order."""
    folder = Path(folder)
    if (folder / PACK_FILE).is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(child for child in folder.iterdir() if (child / PACK_FILE).is_file())


# The program, its chapters and steps -----------------------------------------------


def _program(checker: _Checker, doc: LineDict) -> dict[str, Any]:
    checker.fields(
        doc,
        "the program",
        required=["slug", "title", "summary", "intended_use", "chapters"],
        optional=["language", "conditions"],
    )
    slug = doc.get("slug")
    if "slug" in doc and (not isinstance(slug, str) or not KEY_RE.match(slug) or len(slug) > 80):
        checker.add(
            key_line(doc, "slug"),
            f"slug {slug!r} must be lowercase letters, digits and hyphens (at most 80)",
        )
    language = doc.get("language", "en")
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        checker.add(
            key_line(doc, "language"), f"language {language!r} is not a language tag like 'en'"
        )
    conditions = doc.get("conditions", [])
    if not isinstance(conditions, list) or not all(
        isinstance(c, str) and c.strip() for c in conditions
    ):
        checker.add(key_line(doc, "conditions"), "conditions must be a list of short tags")
        conditions = []
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "slug": slug,
        "title": checker.text(doc, "title", "the program", MAX_TITLE),
        "summary": checker.text(doc, "summary", "the program", MAX_SUMMARY),
        "language": language,
        "conditions": [str(c).strip() for c in conditions],
        "intended_use": _intended_use(checker, doc),
        "chapters": [],
    }
    chapters = doc.get("chapters")
    if "chapters" in doc and (not isinstance(chapters, LineList) or not chapters):
        checker.add(key_line(doc, "chapters"), "chapters must be a list with at least one chapter")
        return data
    if not isinstance(chapters, LineList):
        return data
    chapter_lines: dict[str, int] = {}
    step_lines: dict[str, int] = {}
    located_steps: list[tuple[dict[str, Any], LineDict]] = []
    for index, (raw, line) in enumerate(zip(chapters, chapters.item_lines, strict=True), 1):
        if not isinstance(raw, LineDict):
            checker.add(line, f"chapter {index} must be a mapping with key, title, steps...")
            continue
        chapter = _chapter(checker, raw, index, chapter_lines, step_lines, located_steps)
        data["chapters"].append(chapter)
    _check_links(checker, located_steps)
    return data


def _intended_use(checker: _Checker, doc: LineDict) -> dict[str, Any]:
    raw = doc.get("intended_use")
    if "intended_use" not in doc:
        return {}
    if not isinstance(raw, LineDict):
        checker.add(
            key_line(doc, "intended_use"),
            "intended_use must have a description, exercises_per_week and weeks",
        )
        return {}
    where = "intended_use"
    checker.fields(raw, where, required=["description", "exercises_per_week", "weeks"], optional=[])
    return {
        "description": checker.text(raw, "description", where, MAX_SUMMARY),
        "exercises_per_week": checker.whole_number(raw, "exercises_per_week", where, 1, 21),
        "weeks": checker.whole_number(raw, "weeks", where, 1, 104),
    }


def _chapter(
    checker: _Checker,
    raw: LineDict,
    index: int,
    chapter_lines: dict[str, int],
    step_lines: dict[str, int],
    located_steps: list[tuple[dict[str, Any], LineDict]],
) -> dict[str, Any]:
    key = checker.key(raw, f"chapter {index}")
    where = f"chapter '{key}'" if key else f"chapter {index}"
    checker.fields(
        raw,
        where,
        required=["key", "title", "intro", "skills", "closing", "steps"],
        optional=["min_days"],
    )
    if key is not None:
        if key in chapter_lines:
            checker.add(
                key_line(raw, "key"),
                f"chapter key '{key}' is used twice (first on line {chapter_lines[key]})",
            )
        else:
            chapter_lines[key] = key_line(raw, "key")
    intro = checker.markdown_file(raw, "intro", where)
    closing = checker.markdown_file(raw, "closing", where)
    skills = raw.get("skills", [])
    if "skills" in raw and (
        not isinstance(skills, list)
        or not skills
        or not all(isinstance(s, str) and s.strip() and len(s) <= MAX_TITLE for s in skills)
    ):
        checker.add(
            key_line(raw, "skills"),
            f"{where}: skills must be a list of at least one short sentence",
        )
        skills = []
    chapter: dict[str, Any] = {
        "key": key,
        "title": checker.text(raw, "title", where, MAX_TITLE),
        "intro": intro[0] if intro else None,
        "intro_md": intro[1] if intro else "",
        "closing": closing[0] if closing else None,
        "closing_md": closing[1] if closing else "",
        "skills": [str(s).strip() for s in skills],
        "min_days": _min_days(checker, raw, where, first=index == 1),
        "steps": [],
    }
    steps = raw.get("steps")
    if "steps" in raw and (not isinstance(steps, LineList) or not steps):
        checker.add(key_line(raw, "steps"), f"{where} has no steps; add at least one")
        return chapter
    if not isinstance(steps, LineList):
        return chapter
    for number, (raw_step, line) in enumerate(zip(steps, steps.item_lines, strict=True), 1):
        if not isinstance(raw_step, LineDict):
            checker.add(line, f"{where}: step {number} must be a mapping with key, kind, title...")
            continue
        step = _step(checker, raw_step, f"{where}, step {number}", step_lines)
        chapter["steps"].append(step)
        located_steps.append((step, raw_step))
    return chapter


def _min_days(checker: _Checker, raw: LineDict, where: str, *, first: bool) -> int:
    """The pacing of a chapter: days after the previous chapter opened before this one may."""
    if "min_days" not in raw:
        return 0
    value = raw["min_days"]
    line = key_line(raw, "min_days")
    if first:
        checker.add(
            line,
            f"{where}: the first chapter opens at once, so it has no 'min_days'; remove it",
        )
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_MIN_DAYS:
        checker.add(
            line,
            f"{where}: 'min_days' is {value!r}; it must be a whole number of days "
            f"from 0 to {MAX_MIN_DAYS}",
        )
        return 0
    return value


STEP_FIELDS = (
    "key",
    "kind",
    "title",
    "minutes",
    "body",
    "exercise",
    "settings",
    "hint",
    "prompt",
    "instrument",
    "short_version",
    "unlock",
)


def _step(
    checker: _Checker, raw: LineDict, fallback: str, step_lines: dict[str, int]
) -> dict[str, Any]:
    key = checker.key(raw, fallback)
    where = f"step '{key}'" if key else fallback
    kind = raw.get("kind")
    required = ["key", "kind", "title", "minutes"]
    if kind in {"lesson", "exercise", "reflection"}:
        required.append("body")
    if kind == "exercise":
        required.append("exercise")
    if kind == "reflection":
        required.append("prompt")
    if kind == "questionnaire":
        required.append("instrument")
    checker.fields(raw, where, required, [f for f in STEP_FIELDS if f not in required])
    if key is not None:
        if key in step_lines:
            checker.add(
                key_line(raw, "key"),
                f"step key '{key}' is used twice (first on line {step_lines[key]}); "
                "step keys must be unique in the whole pack",
            )
        else:
            step_lines[key] = key_line(raw, "key")
    if "kind" in raw and kind not in STEP_KINDS:
        checker.add(
            key_line(raw, "kind"),
            f"{where}: unknown step kind {kind!r} (use one of: {', '.join(STEP_KINDS)})",
        )
    exercise = raw.get("exercise")
    settings: Any = raw.get("settings")
    if "exercise" in raw and kind != "exercise" and kind in STEP_KINDS:
        checker.add(key_line(raw, "exercise"), f"{where}: only exercise steps have an 'exercise'")
    elif "exercise" in raw and exercise not in EXERCISE_KINDS:
        hint = difflib.get_close_matches(str(exercise), list(EXERCISE_KINDS), n=1)
        also = f"did you mean '{hint[0]}'?" if hint else f"use one of: {', '.join(EXERCISE_KINDS)}"
        checker.add(
            key_line(raw, "exercise"), f"{where}: unknown exercise kind {exercise!r} ({also})"
        )
    if "settings" in raw and kind != "exercise" and kind in STEP_KINDS:
        checker.add(key_line(raw, "settings"), f"{where}: only exercise steps have settings")
    elif "settings" in raw and exercise in EXERCISE_KINDS:
        for name, message in EXERCISE_KINDS[exercise].setting_problems(settings):
            line = key_line(settings, name) if name else key_line(raw, "settings")
            checker.add(line, f"{where}: {message}")
    if "instrument" in raw and kind != "questionnaire" and kind in STEP_KINDS:
        checker.add(
            key_line(raw, "instrument"), f"{where}: only questionnaire steps have an instrument"
        )
    instrument = raw.get("instrument")
    if "instrument" in raw and instrument not in known_instruments():
        checker.add(
            key_line(raw, "instrument"),
            f"{where}: unknown instrument {instrument!r} "
            f"(known: {', '.join(sorted(known_instruments()))})",
        )
    minutes = raw.get("minutes")
    if "minutes" in raw and (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not MIN_MINUTES <= minutes <= MAX_MINUTES
    ):
        checker.add(
            key_line(raw, "minutes"),
            f"{where}: minutes is {minutes!r}; it must be a whole number from "
            f"{MIN_MINUTES} to {MAX_MINUTES}",
        )
    body = checker.markdown_file(raw, "body", where)
    return {
        "key": key,
        "kind": kind if kind in STEP_KINDS else None,
        "exercise": exercise if kind == "exercise" and exercise in EXERCISE_KINDS else "",
        "title": checker.text(raw, "title", where, MAX_TITLE),
        "minutes": minutes,
        "body": body[0] if body else None,
        "body_md": body[1] if body else "",
        "hint": checker.text(raw, "hint", where, MAX_HINT) or "",
        "prompt": checker.text(raw, "prompt", where, MAX_SUMMARY) or "",
        "instrument": instrument if isinstance(instrument, str) else "",
        "settings": _plain(settings) if isinstance(settings, Mapping) else {},
        "unlock": _plain(raw.get("unlock") or {"after": "previous"}),
        "short_version": raw.get("short_version") or "",
    }


def _plain(value: Any) -> Any:
    """The same data as ordinary dicts and lists (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# Unlock rules and short versions -------------------------------------------------------


def _check_links(checker: _Checker, located: list[tuple[dict[str, Any], LineDict]]) -> None:
    """Unlock rules and short versions must point at real steps, and every step must open."""
    # A duplicated key is reported where it is defined; only its first step joins the graph.
    order = list(dict.fromkeys(step["key"] for step, _raw in located if step["key"]))
    known = set(order)
    waits_for: dict[str, str | None] = {}
    unlock_line: dict[str, int] = {}
    previous: str | None = None
    for index, (step, raw) in enumerate(located):
        key = step["key"]
        where = f"step '{key}'" if key else "a step"
        target = _unlock_target(checker, raw, where, known, first=index == 0)
        if key and key not in waits_for:
            unlock_line[key] = key_line(raw, "unlock")
            waits_for[key] = previous if target == "previous" else target
        if "short_version" in raw:
            short = raw["short_version"]
            line = key_line(raw, "short_version")
            if not isinstance(short, str) or short not in known:
                checker.add(line, f"{where}: short_version {short!r} is not a step in this pack")
            elif short == key:
                checker.add(line, f"{where}: short_version points at the step itself")
        previous = key or previous
    _check_cycles(checker, order, waits_for, unlock_line)


def _unlock_target(
    checker: _Checker, raw: LineDict, where: str, known: set[str], *, first: bool
) -> str | None:
    """The step this one waits for ('previous' for the one before it), or None."""
    if "unlock" not in raw:
        return None if first else "previous"
    rule = raw["unlock"]
    line = key_line(raw, "unlock")
    if not isinstance(rule, LineDict) or len(rule) != 1 or next(iter(rule)) not in UNLOCK_RULES:
        checker.add(
            line,
            f"{where}: unlock must be one rule: {{after: previous}}, {{after: STEP-KEY}}, "
            "{days_after_chapter_start: N} or {score: {instrument: CODE, at_least: N}}",
        )
        return None if first else "previous"
    name, value = next(iter(rule.items()))
    if first and rule != {"after": "previous"}:
        checker.add(
            line, f"{where}: the first step of the program is always open; remove its unlock rule"
        )
        return None
    if name == "after":
        if value == "previous":
            return None if first else "previous"
        if not isinstance(value, str) or value not in known:
            checker.add(
                line, f"{where}: unlock after {value!r}, but there is no step with that key"
            )
            return None
        return value
    if name == "days_after_chapter_start":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 365:
            checker.add(
                line, f"{where}: days_after_chapter_start must be a whole number from 0 to 365"
            )
        return "previous"
    _score_rule(checker, value, line, where)
    return "previous"


def _score_rule(checker: _Checker, value: Any, line: int, where: str) -> None:
    if not isinstance(value, LineDict):
        checker.add(line, f"{where}: a score rule needs an instrument and at_least or below")
        return
    checker.fields(value, f"{where}: the score rule", ["instrument"], ["at_least", "below"])
    instrument = value.get("instrument")
    if "instrument" in value and instrument not in known_instruments():
        checker.add(
            key_line(value, "instrument"),
            f"{where}: unknown instrument {instrument!r} in the score rule",
        )
    thresholds = [name for name in ("at_least", "below") if name in value]
    if len(thresholds) != 1:
        checker.add(value.line, f"{where}: a score rule needs exactly one of at_least or below")
        return
    threshold = value[thresholds[0]]
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        checker.add(key_line(value, thresholds[0]), f"{where}: the score threshold is not a number")


def _check_cycles(
    checker: _Checker,
    order: list[str],
    waits_for: dict[str, str | None],
    unlock_line: dict[str, int],
) -> None:
    """Steps in an unlock cycle, or waiting on one, would never open: report each of them."""
    never: dict[str, str] = {}
    for start in order:
        path: list[str] = []
        seen: set[str] = set()
        current: str | None = start
        while current is not None and current not in seen and current not in never:
            seen.add(current)
            path.append(current)
            current = waits_for.get(current)
        if current is None:
            continue
        if current in never:
            for key in path:
                never.setdefault(key, f"it waits for '{waits_for[key]}', which can never open")
            continue
        cycle = path[path.index(current) :]
        loop = " → ".join([*cycle, cycle[0]])
        for key in cycle:
            never[key] = f"its unlock rule is part of a cycle ({loop})"
        for key in path[: path.index(current)]:
            never.setdefault(key, f"it waits for '{waits_for[key]}', which can never open")
    for key in order:
        if key in never:
            checker.add(unlock_line[key], f"step '{key}' would never open: {never[key]}")
