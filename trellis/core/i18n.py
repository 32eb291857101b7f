"""Keeping every interface string translated: extract, check and compile the catalogues.

Trellis ships its catalogues (trellis/locale/<lang>/LC_MESSAGES/django.po) and the
compiled .mo files beside them, so a fresh clone runs in every language with nothing but
Python: the .mo files are written here with polib, not with GNU gettext's msgfmt.
`trellis i18n check` (and tests/test_translations.py) fails when:

- a msgid in a shipped catalogue has no translation, or only a fuzzy one;
- a translation drops or invents a placeholder (``%(name)s``, ``{name}``, ``%s``);
- a compiled .mo file no longer matches its .po (run `trellis i18n compile`);
- the code holds a string the catalogues do not (extraction needs GNU gettext's
  xgettext, as Django's makemessages does; without it this part is reported as skipped);
- a template shows text outside a translate tag (a heuristic: words between tags and in
  the attributes people read, aria-label, title, alt and placeholder).

Translations of content (program packs, questionnaires) live with the content; see
docs/languages.md.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polib
from django.conf import settings
from django.core.management import call_command
from django.template.base import Lexer, TokenType
from django.test.utils import override_settings

DOMAINS = ("django",)
# Folders never scanned for strings: tools, tests (their strings are not shown to anyone),
# and generated files.
IGNORE = [
    ".venv",
    "venv",
    "node_modules",
    "tests",
    "*/tests/*",
    "scripts",
    "var",
    "docs",
    "content",
    # makemessages takes any folder named locale that it walks into as the catalogues of
    # the files beside it; skipping them keeps extraction writing where it is told.
    "locale",
    "*/locale",
    "build",
    "dist",
]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%[sdifr]|\{\w*\}")
# Words that are the same in every language: names of products, instruments and codes.
UNTRANSLATED_WORDS = frozenset(
    {
        "trellis",
        "phq-9",
        "phq-2",
        "gad-7",
        "gad-2",
        "eheals",
        "fhir",
        "api",
        "loinc",
        "totp",
        "csv",
        "json",
        "ical",
        "ics",
        "id",
        "otpauth",
        "english",
        "suomi",
        "español",
    }
)


@dataclass(frozen=True)
class Finding:
    """One thing that keeps a language from being complete, with where it is."""

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def root() -> Path:
    return Path(settings.BASE_DIR)


def _label(path: Path) -> str:
    """A path as the check prints it: relative to the project where it is inside it."""
    return str(path.relative_to(root())) if path.is_relative_to(root()) else str(path)


def locale_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def languages() -> list[str]:
    """Every language but the source language, English."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def po_path(folder: Path, language: str, domain: str = "django") -> Path:
    return folder / language / "LC_MESSAGES" / f"{domain}.po"


# Checking a catalogue --------------------------------------------------------------


def catalogue_findings(path: Path, *, label: str | None = None) -> list[Finding]:
    """Untranslated, fuzzy and placeholder-breaking entries of one .po file."""
    where = label or str(path)
    if not path.exists():
        return [Finding(where, "the catalogue is missing; run `trellis i18n extract`")]
    found: list[Finding] = []
    for entry in polib.pofile(str(path)):
        if entry.obsolete:
            continue
        name = entry.msgid if len(entry.msgid) <= 80 else entry.msgid[:77] + "..."
        if entry.fuzzy:
            found.append(Finding(where, f"fuzzy (check and confirm): {name!r}"))
            continue
        if entry.msgid_plural:
            forms = [v for _k, v in sorted(entry.msgstr_plural.items())]
            if not forms or not all(forms):
                found.append(Finding(where, f"untranslated plural: {name!r}"))
                continue
            pairs = [(entry.msgid_plural, f) for f in forms[1:]] + [(entry.msgid, forms[0])]
        else:
            if not entry.msgstr:
                found.append(Finding(where, f"untranslated: {name!r}"))
                continue
            pairs = [(entry.msgid, entry.msgstr)]
        for source, text in pairs:
            named_source = set(re.findall(r"%\((\w+)\)", source))
            named_text = set(re.findall(r"%\((\w+)\)", text))
            if named_source != named_text or (
                source.count("%s") != text.count("%s") and "python-format" in entry.flags
            ):
                found.append(Finding(where, f"placeholders differ from the English: {name!r}"))
                break
    return found


def mo_findings(folder: Path) -> list[Finding]:
    """Compiled catalogues that are missing or do not match their .po."""
    found: list[Finding] = []
    for language in languages():
        for domain in DOMAINS:
            po = po_path(folder, language, domain)
            if not po.exists():
                continue
            mo = po.with_suffix(".mo")
            if not mo.exists():
                found.append(Finding(str(mo), "not compiled; run `trellis i18n compile`"))
                continue
            if _entries(polib.pofile(str(po))) != _entries(polib.mofile(str(mo))):
                found.append(Finding(str(mo), "out of date; run `trellis i18n compile`"))
    return found


def _entries(catalogue: polib._BaseFile) -> dict[tuple[str, str, str], object]:
    result: dict[tuple[str, str, str], object] = {}
    for entry in catalogue:
        if entry.obsolete or "fuzzy" in getattr(entry, "flags", ()):
            continue
        key = (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")
        if entry.msgid_plural:
            forms = {int(k): v for k, v in entry.msgstr_plural.items()}
            if all(forms.values()):
                result[key] = forms
        elif entry.msgstr or not entry.msgid:
            result[key] = entry.msgstr
    return result


def compile_catalogues(folder: Path | None = None) -> list[Path]:
    """Write each .mo from its .po (fuzzy entries left out, as msgfmt does)."""
    written: list[Path] = []
    for po in sorted((folder or locale_dir()).glob("*/LC_MESSAGES/*.po")):
        catalogue = polib.pofile(str(po))
        mo = po.with_suffix(".mo")
        catalogue.save_as_mofile(str(mo))
        written.append(mo)
    return written


# Extracting the strings the code holds ---------------------------------------------


@contextmanager
def _in_folder(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def can_extract() -> bool:
    """Whether GNU gettext (xgettext, msgmerge) is installed, as makemessages needs."""
    return all(shutil.which(tool) for tool in ("xgettext", "msgmerge", "msguniq"))


def extract(folder: Path | None = None) -> None:
    """Refresh the catalogues in `folder` (default: the shipped ones) from the code."""
    target = folder or locale_dir()
    with override_settings(LOCALE_PATHS=[target]), _in_folder(root()):
        for domain in DOMAINS:
            call_command(
                "makemessages",
                locale=languages(),
                domain=domain,
                ignore_patterns=IGNORE,
                no_obsolete=True,
                verbosity=0,
            )


def extraction_findings() -> list[Finding]:
    """Strings in the code that the shipped catalogues lack or do not translate: extract
    into a temporary copy of the catalogues and check the copy."""
    with tempfile.TemporaryDirectory(prefix="trellis-i18n-") as tmp:
        copy = Path(tmp) / "locale"
        shutil.copytree(locale_dir(), copy)
        extract(copy)
        found: list[Finding] = []
        for language in languages():
            for domain in DOMAINS:
                path = po_path(copy, language, domain)
                label = _label(po_path(locale_dir(), language, domain))
                found.extend(
                    Finding(f.where, f.problem + " (in the code, not yet in the catalogue)")
                    if "untranslated" in f.problem
                    else f
                    for f in catalogue_findings(path, label=label)
                )
        return found


# Text in templates that no translate tag covers ---------------------------------------

_READ_ATTRIBUTES = re.compile(
    r"""\b(aria-label|title|alt|placeholder|aria-description)\s*=\s*(["'])(.*?)\2""",
    re.S,
)
_STRIP = [
    re.compile(r"<script\b.*?</script>", re.S | re.I),
    re.compile(r"<style\b.*?</style>", re.S | re.I),
    re.compile(r"<!--.*?-->", re.S),
]
_TAG = re.compile(r"<[^>]*>", re.S)
_ENTITY = re.compile(r"&[#\w]+;")
_WORD = re.compile("[^\\W\\d_][\\w'\u2019.-]*", re.U)
_OPENS = {"blocktranslate", "blocktrans", "comment", "verbatim"}
_MARK = "\x00"


def _flatten(source: str) -> str:
    """The template's HTML with every template tag replaced by a mark, and translated
    blocks, comments and verbatim blocks left out."""
    parts: list[str] = []
    closing: str | None = None
    for token in Lexer(source).tokenize():
        if closing is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
                parts.append(_MARK)
            continue
        if token.token_type == TokenType.TEXT:
            parts.append(token.contents)
        elif token.token_type == TokenType.COMMENT:
            continue
        else:
            if token.token_type == TokenType.BLOCK:
                words = token.contents.split()
                name = words[0] if words else ""
                if name in _OPENS:
                    closing = "end" + name
                elif words[:2] == ["block", "body_class"]:
                    closing = "endblock"  # class names, never shown
            parts.append(_MARK)
    return "".join(parts)


def _has_words(text: str) -> bool:
    text = _ENTITY.sub(" ", text)
    return any(w.lower().strip(".'\u2019-") not in UNTRANSLATED_WORDS for w in _WORD.findall(text))


def unmarked_in_template(source: str) -> list[str]:
    """Snippets of visible text in a template that no translate tag covers."""
    html = _flatten(source)
    for pattern in _STRIP:
        html = pattern.sub(_MARK, html)
    found: list[str] = []
    for match in _READ_ATTRIBUTES.finditer(html):
        value = match.group(3)
        if _has_words(value.replace(_MARK, " ")):
            found.append(f'{match.group(1)}="{value.replace(_MARK, "…")}"')
    for chunk in _TAG.sub(_MARK, html).split(_MARK):
        text = " ".join(chunk.split())
        if text and _has_words(text):
            found.append(text)
    return found


def template_files() -> list[Path]:
    base = root() / "trellis"
    return sorted(
        p for p in base.glob("**/templates/**/*.html") if "tests" not in p.relative_to(base).parts
    )


def template_findings() -> list[Finding]:
    found: list[Finding] = []
    for path in template_files():
        for snippet in unmarked_in_template(path.read_text(encoding="utf-8")):
            shown = snippet if len(snippet) <= 70 else snippet[:67] + "..."
            found.append(
                Finding(
                    str(path.relative_to(root())), f"text not marked for translation: {shown!r}"
                )
            )
    return found


def shipped_findings() -> list[Finding]:
    """Everything checkable without GNU gettext: the shipped catalogues, their compiled
    files, and unmarked template text."""
    found: list[Finding] = []
    for language in languages():
        for domain in DOMAINS:
            path = po_path(locale_dir(), language, domain)
            found.extend(catalogue_findings(path, label=_label(path)))
    found.extend(mo_findings(locale_dir()))
    found.extend(template_findings())
    return found
