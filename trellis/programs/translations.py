"""A program's words in other languages, beside its pack, and shown in the reader's language.

A pack keeps each translation in `locale/<language>/` inside its folder:

    locale/fi/pack.yaml        the short texts, by the English pack's chapter and step keys
    locale/fi/chapters/...     Markdown files at the same paths as the English ones

`pack.yaml` of a language holds only words: the program's `title` and `summary`; for each
chapter (by key) its `title` and `skills`; for each step (by key, under its chapter) its
`title`, `hint`, `prompt` and the text settings of its exercise (`prompt`, `suggestions`).
A Markdown file (a chapter's intro and closing, a step's body) is translated by writing the
file at the same path under `locale/<language>/`. Anything left out is shown in English, so
a half-done translation never breaks a page. The checker reports keys the English pack does
not have, settings that are not words, and lists of the wrong length.

The translations are part of the published version (its `source`, and its checksum), so a
patient who started a version keeps its words in every language. Rows read from the
database are given the active language's words as they load (`localize`, called from the
programs models); published rows are never saved again, so the English in the database
stays as published.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml
from django.apps import apps
from django.conf import settings
from django.utils import translation

from trellis.programs import markdown
from trellis.programs.yamlfile import LineDict, LineList, LineLoader, Problem, key_line

LOCALE_DIR = "locale"
PACK_FILE = "pack.yaml"
TEXT_SETTINGS = ("prompt", "suggestions")
PROGRAM_FIELDS = ("title", "summary", "chapters")
CHAPTER_FIELDS = ("title", "skills", "steps")
STEP_FIELDS = ("title", "hint", "prompt", "settings")
MAX_TEXT = 1_000


def load(root: Path, data: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[Problem]]:
    """Every translation of the pack at `root`: ({language: words}, files read, problems).

    `data` is the checked English pack (its chapters and steps name what may be translated).
    """
    folder = root / LOCALE_DIR
    if not folder.is_dir():
        return {}, [], []
    found: dict[str, Any] = {}
    files: list[str] = []
    problems: list[Problem] = []
    for lang_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        language = lang_dir.name
        words, used, trouble = _language(root, lang_dir, data)
        problems += trouble
        files += used
        if words:
            found[language] = words
    return found, files, problems


def _language(
    root: Path, lang_dir: Path, data: dict[str, Any]
) -> tuple[dict[str, Any], list[str], list[Problem]]:
    rel_dir = lang_dir.relative_to(root).as_posix()
    pack_file = f"{rel_dir}/{PACK_FILE}"
    problems: list[Problem] = []
    files: list[str] = []

    def add(line: int, message: str, file: str = pack_file) -> None:
        problems.append(Problem(file, line, message))

    doc: Any = LineDict()
    if (lang_dir / PACK_FILE).is_file():
        files.append(pack_file)
        loader = LineLoader((lang_dir / PACK_FILE).read_text(encoding="utf-8"))
        loader.duplicates = []
        try:
            doc = loader.get_single_data() or LineDict()
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            add(mark.line + 1 if mark else 1, f"YAML does not parse: {error}")
            return {}, files, problems
        finally:
            loader.dispose()
        if not isinstance(doc, LineDict):
            add(1, "a translation's pack.yaml is a mapping (title, summary, chapters)")
            return {}, files, problems
    words: dict[str, Any] = {"chapters": {}, "steps": {}}
    _unknown(doc, PROGRAM_FIELDS, "the translation", add)
    for name in ("title", "summary"):
        text = _text(doc, name, "the translation", add)
        if text:
            words[name] = text

    def markdown_of(rel: str) -> str:
        path = lang_dir / rel
        if not rel or not path.is_file():
            return ""
        files.append(f"{rel_dir}/{rel}")
        text = path.read_text(encoding="utf-8")
        for finding in markdown.inspect(text):
            add(finding.line, finding.message, f"{rel_dir}/{rel}")
        return text

    raw_chapters = doc.get("chapters", LineDict())
    if not isinstance(raw_chapters, LineDict):
        add(key_line(doc, "chapters"), "'chapters' maps each chapter's key to its words")
        raw_chapters = LineDict()
    chapters = {c["key"]: c for c in data.get("chapters", []) if c.get("key")}
    for key in raw_chapters:
        if key not in chapters:
            add(key_line(raw_chapters, key), f"the English pack has no chapter '{key}'")
    for key, chapter in chapters.items():
        raw = raw_chapters.get(key, LineDict())
        where = f"chapter '{key}'"
        if not isinstance(raw, LineDict):
            add(key_line(raw_chapters, key), f"{where} must be a mapping (title, skills, steps)")
            raw = LineDict()
        _unknown(raw, CHAPTER_FIELDS, where, add)
        entry: dict[str, Any] = {}
        title = _text(raw, "title", where, add)
        if title:
            entry["title"] = title
        if "skills" in raw:
            skills = _list(raw, "skills", where, len(chapter.get("skills") or []), add)
            if skills:
                entry["skills"] = skills
        for part in ("intro", "closing"):
            text = markdown_of(chapter.get(part) or "")
            if text:
                entry[f"{part}_md"] = text
        if entry:
            words["chapters"][key] = entry
        raw_steps = raw.get("steps", LineDict())
        if not isinstance(raw_steps, LineDict):
            add(key_line(raw, "steps"), f"{where}: 'steps' maps each step's key to its words")
            raw_steps = LineDict()
        steps = {s["key"]: s for s in chapter.get("steps", []) if s.get("key")}
        for step_key in raw_steps:
            if step_key not in steps:
                add(key_line(raw_steps, step_key), f"{where} has no step '{step_key}'")
        for step_key, step in steps.items():
            words["steps"].update(_step(step, raw_steps.get(step_key), markdown_of, add))
    return words, files, problems


def _step(step: dict[str, Any], raw: Any, markdown_of: Any, add: Any) -> dict[str, Any]:
    where = f"step '{step['key']}'"
    if raw is None:
        raw = LineDict()
    if not isinstance(raw, LineDict):
        add(getattr(raw, "line", 1), f"{where} must be a mapping (title, hint, prompt, settings)")
        return {}
    _unknown(raw, STEP_FIELDS, where, add)
    entry: dict[str, Any] = {}
    for name in ("title", "hint", "prompt"):
        text = _text(raw, name, where, add)
        if text:
            entry[name] = text
    body = markdown_of(step.get("body") or "")
    if body:
        entry["body_md"] = body
    raw_settings = raw.get("settings")
    if raw_settings is not None:
        english = step.get("settings") or {}
        if not isinstance(raw_settings, LineDict):
            add(key_line(raw, "settings"), f"{where}: 'settings' holds the words of its settings")
        else:
            translated: dict[str, Any] = {}
            for name in raw_settings:
                if name not in TEXT_SETTINGS or name not in english:
                    add(
                        key_line(raw_settings, name),
                        f"{where}: only the words of a setting it has are translated "
                        f"({', '.join(n for n in TEXT_SETTINGS if n in english) or 'none'})",
                    )
                    continue
                value: str | list[str]
                if isinstance(english[name], list):
                    value = _list(raw_settings, name, where, len(english[name]), add)
                else:
                    value = _text(raw_settings, name, where, add)
                if value:
                    translated[name] = value
            if translated:
                entry["settings"] = translated
    return {step["key"]: entry} if entry else {}


def _unknown(mapping: LineDict, known: tuple[str, ...], where: str, add: Any) -> None:
    for name in mapping:
        if name not in known:
            add(key_line(mapping, name), f"{where} has an unknown field '{name}'")


def _text(mapping: LineDict, name: str, where: str, add: Any) -> str:
    if name not in mapping:
        return ""
    value = mapping[name]
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        add(key_line(mapping, name), f"{where}: '{name}' must be a text of at most {MAX_TEXT}")
        return ""
    return value.strip()


def _list(mapping: LineDict, name: str, where: str, count: int, add: Any) -> list[str]:
    value = mapping[name]
    if (
        not isinstance(value, LineList)
        or len(value) != count
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        add(key_line(mapping, name), f"{where}: '{name}' must list {count} texts, as in English")
        return []
    return [str(v).strip() for v in value]


# Showing a version's words in the active language ------------------------------------


def active_language() -> str:
    """The active language if Trellis offers it and it is not the packs' English, else ""."""
    code = (translation.get_language() or "").split("-")[0]
    offered = {c for c, _name in settings.LANGUAGES}
    return code if code in offered and code != "en" else ""


@functools.lru_cache(maxsize=64)
def _version_words(version_id: UUID) -> dict[str, Any]:
    """The translations stored with a published version (versions never change)."""
    version = apps.get_model("programs", "ProgramVersion")
    source = version.objects.filter(pk=version_id).values_list("source", flat=True).first()
    return dict((source or {}).get("translations") or {})


@functools.lru_cache(maxsize=4096)
def _html(version_id: UUID, language: str, kind: str, key: str, part: str) -> str:
    words = _version_words(version_id).get(language, {})
    text = words.get(kind, {}).get(key, {}).get(part, "")
    return markdown.render(text) if text else ""


def localize(instance: Any) -> Any:
    """Give a freshly loaded version, chapter or step the active language's words, where the
    version has them; anything untranslated keeps its English."""
    language = active_language()
    if not language:
        return instance
    loaded = instance.__dict__
    label = instance._meta.model_name
    if label == "programversion":
        source = loaded.get("source")
        words = (source.get("translations") or {}) if isinstance(source, dict) else None
        if words is None:
            words = _version_words(instance.pk)
        mine = words.get(language, {})
        for name in ("title", "summary"):
            if name in loaded and mine.get(name):
                setattr(instance, name, mine[name])
        return instance
    version_id = loaded.get("version_id")
    if version_id is None or "key" not in loaded:
        return instance
    kind = "chapters" if label == "chapter" else "steps"
    mine = _version_words(version_id).get(language, {}).get(kind, {}).get(instance.key)
    if not mine:
        return instance
    for name in ("title", "hint", "prompt", "skills"):
        if name in loaded and mine.get(name):
            setattr(instance, name, mine[name])
    for name, part in (("intro_html", "intro_md"), ("closing_html", "closing_md")):
        if name in loaded and mine.get(part):
            setattr(instance, name, _html(version_id, language, kind, instance.key, part))
    if "body_html" in loaded and mine.get("body_md"):
        instance.body_html = _html(version_id, language, kind, instance.key, "body_md")
    if "settings" in loaded and mine.get("settings") and isinstance(instance.settings, dict):
        instance.settings = {**instance.settings, **mine["settings"]}
    return instance


def clear_cache() -> None:
    """Forget stored translations read from the database (tests that reuse ids)."""
    _version_words.cache_clear()
    _html.cache_clear()
