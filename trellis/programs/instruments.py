"""Questionnaires as data: each instrument is one YAML file with its published wording.

An instrument file holds everything Trellis needs to ask and score a questionnaire: the
instructions, the items and their response options exactly as published, the total's
range, the severity bands, the caseness threshold and reliable-change size used for
outcomes, LOINC codes, the source citation and licence, the prorating rule, reverse-scored
items, and safety rules (for example "PHQ-9 item 9 above 0").

Trellis ships PHQ-9, GAD-7, PHQ-2, GAD-2 and eHEALS in `trellis/programs/instruments/`.
A clinic adds its own (in the same format) in the folder named by the setting
`TRELLIS_INSTRUMENTS_DIR`; `trellis content check FOLDER` reports every problem in such a
file with its line. The format is described in docs/measures.md.

A file may carry `translations`: the instrument's wording in another language, only from a
published, validated translation, word for word, with its `source` named. Scoring never
depends on the language (values, bands, safety rules are the English file's); `localized`
gives the wording for the active language, or the English with a note saying why when no
validated translation is shipped (docs/languages.md).
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from trellis.programs.yamlfile import (
    FieldChecker,
    LineDict,
    LineList,
    LineLoader,
    Problem,
    key_line,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
BUILTIN_DIR = Path(__file__).resolve().parent / "instruments"
INSTRUMENT_FILE = "instrument.yaml"
INSTRUMENT_SUFFIX = ".instrument.yaml"
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
ITEM_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RULE_RE = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
LOINC_RE = re.compile(r"^\d{1,7}-\d$")
SEVERITY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_TEXT = 1_000
MAX_LABEL = 120

TOP_REQUIRED = (
    "format",
    "code",
    "title",
    "instructions",
    "items",
    "total",
    "bands",
    "citation",
    "licence",
)
TOP_OPTIONAL = (
    "short_title",
    "measures",
    "options",
    "caseness",
    "reliable_change",
    "prorate",
    "reverse_items",
    "safety_rules",
    "loinc",
    "translations",
)
TRANSLATION_REQUIRED = ("source", "title", "instructions", "items")
TRANSLATION_OPTIONAL = ("short_title", "options")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
# Band labels are Trellis's words, not the instrument's: they are translated with the
# interface (these names put the shipped ones in the catalogues).
BAND_LABELS = (
    gettext_noop("Minimal"),
    gettext_noop("Mild"),
    gettext_noop("Moderate"),
    gettext_noop("Moderately severe"),
    gettext_noop("Severe"),
    gettext_noop("Negative screen"),
    gettext_noop("Positive screen"),
    gettext_noop("Inadequate"),
    gettext_noop("Problematic"),
    gettext_noop("Sufficient"),
)
ITEM_FIELDS = ("id", "text", "options", "scored", "required", "loinc")


class UnknownInstrument(Exception):
    """No instrument with this code is installed (neither shipped nor the clinic's)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"There is no questionnaire called {code!r}.")
        self.code = code


@dataclass(frozen=True)
class Option:
    """One response option: the number stored and scored, and the words shown."""

    value: int
    label: str


@dataclass(frozen=True)
class Item:
    """One question. Unscored items (PHQ-9's difficulty question) are asked, never added up."""

    id: str
    text: str
    options: tuple[Option, ...] = ()
    scored: bool = True
    required: bool = True
    loinc: str = ""


@dataclass(frozen=True)
class Band:
    """A severity range of the total, both ends included (PHQ-9 10-14 is "Moderate")."""

    low: int
    high: int
    label: str
    severity: str

    def contains(self, total: int) -> bool:
        return self.low <= total <= self.high


@dataclass(frozen=True)
class SafetyRule:
    """An answer above `above` on `item` is a safety event named `rule_name`."""

    item: str
    above: int
    rule_name: str


@dataclass(frozen=True)
class Translation:
    """An instrument's wording in one language, from a published validated translation."""

    language: str
    source: str
    title: str
    short_title: str
    instructions: str
    option_labels: tuple[str, ...]
    item_texts: tuple[tuple[str, str], ...]
    item_option_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Instrument:
    """A questionnaire as published, and how Trellis scores it."""

    code: str
    title: str
    short_title: str
    instructions: str
    items: tuple[Item, ...]
    options: tuple[Option, ...]
    min_total: int
    max_total: int
    bands: tuple[Band, ...]
    caseness: int | None = None
    reliable_change: int | None = None
    loinc_panel: str = ""
    loinc_total: str = ""
    citation: str = ""
    licence: str = ""
    prorate_max_missing: int = 0
    reverse_items: frozenset[str] = frozenset()
    safety_rules: tuple[SafetyRule, ...] = ()
    measures: str = ""
    source: str = field(default="", compare=False)
    translations: tuple[Translation, ...] = field(default=(), compare=False)
    # The language the wording is in, and when it is not the reader's, a note saying why.
    language: str = field(default="en", compare=False)
    language_note: str = field(default="", compare=False)

    def translation(self, language: str) -> Translation | None:
        base = language.split("-")[0]
        return next((t for t in self.translations if t.language in (language, base)), None)

    def options_for(self, item: Item) -> tuple[Option, ...]:
        """The item's own options if it has them, else the instrument's."""
        return item.options or self.options

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.scored)

    @property
    def loinc_items(self) -> dict[str, str]:
        return {i.id: i.loinc for i in self.items if i.loinc}

    def band_for(self, total: int | None) -> Band | None:
        if total is None:
            return None
        return next((b for b in self.bands if b.contains(total)), None)

    def at_caseness(self, total: int | None) -> bool | None:
        if total is None or self.caseness is None:
            return None
        return total >= self.caseness


# Reading and checking one file ------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class _Checker(FieldChecker):
    file: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def text(self, mapping: LineDict, name: str, where: str, max_length: int = MAX_TEXT) -> str:
        if name not in mapping:
            return ""
        value = mapping[name]
        if not isinstance(value, str) or not value.strip():
            self.add(key_line(mapping, name), f"{where}: '{name}' must be a non-empty text")
            return ""
        value = " ".join(value.split())
        if len(value) > max_length:
            self.add(
                key_line(mapping, name),
                f"{where}: '{name}' is longer than {max_length} characters",
            )
        return value

    def number(self, mapping: LineDict, name: str, where: str) -> int | None:
        if name not in mapping:
            return None
        value = mapping[name]
        if not _is_int(value):
            self.add(key_line(mapping, name), f"{where}: '{name}' must be a whole number")
            return None
        return int(value)

    def flag(self, mapping: LineDict, name: str, where: str, default: bool) -> bool:
        if name not in mapping:
            return default
        value = mapping[name]
        if not isinstance(value, bool):
            self.add(key_line(mapping, name), f"{where}: '{name}' must be true or false")
            return default
        return value

    def loinc(self, mapping: LineDict, name: str, where: str) -> str:
        if name not in mapping:
            return ""
        value = mapping[name]
        if not isinstance(value, str) or not LOINC_RE.match(value):
            self.add(
                key_line(mapping, name),
                f"{where}: {value!r} is not a LOINC code (digits, a hyphen, a check digit)",
            )
            return ""
        return value

    def options(self, raw: Any, line: int, where: str) -> tuple[Option, ...]:
        if not isinstance(raw, LineList) or len(raw) < 2:
            self.add(line, f"{where}: 'options' must be a list of at least two {{value, label}}")
            return ()
        found: list[Option] = []
        for index, entry in enumerate(raw):
            entry_line = raw.item_lines[index]
            if not isinstance(entry, LineDict):
                self.add(entry_line, f"{where}: each option is a {{value: N, label: text}}")
                continue
            label_where = f"{where}: option {index + 1}"
            self.fields(entry, label_where, ["value", "label"], [])
            value = self.number(entry, "value", label_where)
            label = self.text(entry, "label", label_where, MAX_LABEL)
            if value is None or not label:
                continue
            if any(o.value == value for o in found):
                self.add(entry_line, f"{where}: the value {value} is used by two options")
                continue
            found.append(Option(value, label))
        return tuple(found)


def _items(check: _Checker, doc: LineDict) -> list[Item]:
    raw = doc.get("items")
    line = key_line(doc, "items")
    if "items" not in doc:
        return []
    if not isinstance(raw, LineList) or not raw:
        check.add(line, "'items' must be a list of questions")
        return []
    items: list[Item] = []
    for index, entry in enumerate(raw):
        entry_line = raw.item_lines[index]
        where = f"item {index + 1}"
        if not isinstance(entry, LineDict):
            check.add(entry_line, f"{where} must be a mapping with an id and a text")
            continue
        check.fields(
            entry, where, ["id", "text"], [f for f in ITEM_FIELDS if f not in ("id", "text")]
        )
        item_id = entry.get("id")
        if "id" in entry and (not isinstance(item_id, str) or not ITEM_ID_RE.match(item_id)):
            check.add(
                key_line(entry, "id"),
                f"{where}: id {item_id!r} must start with a lowercase letter and use lowercase "
                "letters, digits and underscores (at most 40)",
            )
            item_id = None
        if item_id and any(i.id == item_id for i in items):
            check.add(key_line(entry, "id"), f"{where}: the id '{item_id}' is used twice")
            item_id = None
        text = check.text(entry, "text", where)
        options: tuple[Option, ...] = ()
        if "options" in entry:
            options = check.options(entry["options"], key_line(entry, "options"), where)
        scored = check.flag(entry, "scored", where, True)
        required = check.flag(entry, "required", where, True)
        loinc = check.loinc(entry, "loinc", where)
        if isinstance(item_id, str) and text:
            items.append(Item(item_id, text, options, scored, required, loinc))
    return items


def _bands(check: _Checker, doc: LineDict, low: int | None, high: int | None) -> list[Band]:
    raw = doc.get("bands")
    line = key_line(doc, "bands")
    if "bands" not in doc:
        return []
    if not isinstance(raw, LineList) or not raw:
        check.add(line, "'bands' must be a list of {low, high, label, severity}")
        return []
    bands: list[tuple[int, Band]] = []
    for index, entry in enumerate(raw):
        entry_line = raw.item_lines[index]
        where = f"band {index + 1}"
        if not isinstance(entry, LineDict):
            check.add(entry_line, f"{where} must be a mapping {{low, high, label, severity}}")
            continue
        check.fields(entry, where, ["low", "high", "label", "severity"], [])
        b_low, b_high = check.number(entry, "low", where), check.number(entry, "high", where)
        label = check.text(entry, "label", where, MAX_LABEL)
        severity = entry.get("severity")
        if "severity" in entry and (
            not isinstance(severity, str) or not SEVERITY_RE.match(severity)
        ):
            check.add(
                key_line(entry, "severity"),
                f"{where}: severity must be a lowercase word such as 'moderate'",
            )
            severity = None
        if b_low is None or b_high is None or not label or not isinstance(severity, str):
            continue
        if b_low > b_high:
            check.add(entry_line, f"{where}: low ({b_low}) is above high ({b_high})")
            continue
        bands.append((entry_line, Band(b_low, b_high, label, severity)))
    if len(bands) != len(raw):
        return [b for _line, b in bands]
    ordered = sorted(bands, key=lambda lb: lb[1].low)
    if low is not None and ordered and ordered[0][1].low != low:
        check.add(
            ordered[0][0],
            f"the bands start at {ordered[0][1].low} but the lowest total is {low}: "
            "every total needs a band",
        )
    if high is not None and ordered and ordered[-1][1].high != high:
        check.add(
            ordered[-1][0],
            f"the bands end at {ordered[-1][1].high} but the highest total is {high}: "
            "every total needs a band",
        )
    for (_pl, previous), (entry_line, band) in itertools.pairwise(ordered):
        if band.low <= previous.high:
            check.add(
                entry_line,
                f"the bands '{previous.label}' ({previous.low}-{previous.high}) and "
                f"'{band.label}' ({band.low}-{band.high}) overlap",
            )
        elif band.low > previous.high + 1:
            gap = f"{previous.high + 1}-{band.low - 1}" if band.low - previous.high > 2 else ""
            check.add(
                entry_line,
                (
                    f"no band covers totals {gap}"
                    if gap
                    else f"no band covers the total {band.low - 1}"
                )
                + f" (between '{previous.label}' and '{band.label}')",
            )
    return [b for _line, b in ordered]


def _build(check: _Checker, doc: LineDict, source: str) -> Instrument | None:
    check.fields(doc, "the instrument", TOP_REQUIRED, TOP_OPTIONAL)
    version = doc.get("format")
    if "format" in doc and version != FORMAT_VERSION:
        check.add(key_line(doc, "format"), f"'format' must be {FORMAT_VERSION}")
    code = doc.get("code")
    if "code" in doc and (not isinstance(code, str) or not CODE_RE.match(code)):
        check.add(
            key_line(doc, "code"),
            f"code {code!r} must be letters, digits, '-', '_' or '.' (at most 40), e.g. WSAS",
        )
        code = None
    title = check.text(doc, "title", "the instrument", 200)
    short_title = check.text(doc, "short_title", "the instrument", 40)
    instructions = check.text(doc, "instructions", "the instrument")
    citation = check.text(doc, "citation", "the instrument")
    licence = check.text(doc, "licence", "the instrument")
    measures = check.text(doc, "measures", "the instrument", MAX_LABEL)
    options: tuple[Option, ...] = ()
    if "options" in doc:
        options = check.options(doc["options"], key_line(doc, "options"), "the instrument")
    items = _items(check, doc)
    for item in items:
        if not (item.options or options):
            check.add(
                key_line(doc, "items"),
                f"item '{item.id}' has no response options (give 'options' to the instrument "
                "or to the item)",
            )
    scored = [i for i in items if i.scored]
    if items and not scored:
        check.add(key_line(doc, "items"), "at least one item must be scored")

    def option_values(item: Item) -> list[int]:
        return [o.value for o in (item.options or options)]

    possible_low = sum(min(option_values(i), default=0) for i in scored)
    possible_high = sum(max(option_values(i), default=0) for i in scored)
    low = high = None
    total = doc.get("total")
    if "total" in doc:
        if not isinstance(total, LineDict):
            check.add(key_line(doc, "total"), "'total' must be {min: N, max: N}")
        else:
            check.fields(total, "total", ["min", "max"], [])
            low, high = check.number(total, "min", "total"), check.number(total, "max", "total")
            if low is not None and scored and low != possible_low:
                check.add(
                    key_line(total, "min"),
                    f"total min is {low} but the scored items add up to at least {possible_low}",
                )
            if high is not None and scored and high != possible_high:
                check.add(
                    key_line(total, "max"),
                    f"total max is {high} but the scored items add up to at most {possible_high}",
                )
    bands = _bands(check, doc, low, high)
    caseness = check.number(doc, "caseness", "the instrument")
    if (caseness is not None and low is not None and high is not None) and not (
        low < caseness <= high
    ):
        check.add(
            key_line(doc, "caseness"),
            f"caseness {caseness} must be above {low} and at most {high}",
        )
    reliable = check.number(doc, "reliable_change", "the instrument")
    if (reliable is not None and low is not None and high is not None) and not (
        0 < reliable <= high - low
    ):
        check.add(
            key_line(doc, "reliable_change"),
            f"reliable_change must be from 1 to {high - low} points",
        )
    max_missing = 0
    prorate = doc.get("prorate")
    if "prorate" in doc:
        if not isinstance(prorate, LineDict):
            check.add(key_line(doc, "prorate"), "'prorate' must be {max_missing: N}")
        else:
            check.fields(prorate, "prorate", ["max_missing"], [])
            value = check.number(prorate, "max_missing", "prorate")
            if value is not None and not 0 <= value < max(len(scored), 1):
                check.add(
                    key_line(prorate, "max_missing"),
                    f"prorate max_missing must be from 0 to {max(len(scored) - 1, 0)}",
                )
            elif value is not None:
                max_missing = value
    scored_ids = {i.id for i in scored}
    reverse: set[str] = set()
    raw_reverse = doc.get("reverse_items", [])
    if not isinstance(raw_reverse, list) or not all(isinstance(r, str) for r in raw_reverse):
        check.add(key_line(doc, "reverse_items"), "'reverse_items' must be a list of item ids")
    else:
        for rid in raw_reverse:
            if items and rid not in scored_ids:
                check.add(
                    key_line(doc, "reverse_items"),
                    f"reverse_items names '{rid}', which is not a scored item",
                )
            reverse.add(rid)
    rules = _safety_rules(check, doc, items, options)
    translations = _translations(check, doc, items, options)
    loinc_panel = loinc_total = ""
    raw_loinc = doc.get("loinc")
    if "loinc" in doc:
        if not isinstance(raw_loinc, LineDict):
            check.add(key_line(doc, "loinc"), "'loinc' must be {panel: CODE, total: CODE}")
        else:
            check.fields(raw_loinc, "loinc", [], ["panel", "total"])
            loinc_panel = check.loinc(raw_loinc, "panel", "loinc")
            loinc_total = check.loinc(raw_loinc, "total", "loinc")
    if check.problems or not isinstance(code, str) or low is None or high is None:
        return None
    return Instrument(
        code=code,
        title=title,
        short_title=short_title or code,
        instructions=instructions,
        items=tuple(items),
        options=options,
        min_total=low,
        max_total=high,
        bands=tuple(bands),
        caseness=caseness,
        reliable_change=reliable,
        loinc_panel=loinc_panel,
        loinc_total=loinc_total,
        citation=citation,
        licence=licence,
        prorate_max_missing=max_missing,
        reverse_items=frozenset(reverse),
        safety_rules=tuple(rules),
        measures=measures,
        source=source,
        translations=tuple(translations),
    )


def _translations(
    check: _Checker, doc: LineDict, items: list[Item], options: tuple[Option, ...]
) -> list[Translation]:
    """Check the `translations` block: every item translated, the same number of options."""
    if "translations" not in doc:
        return []
    raw = doc["translations"]
    if not isinstance(raw, LineDict) or not raw:
        check.add(
            key_line(doc, "translations"),
            "'translations' must map a language code (fi, es...) to that language's wording",
        )
        return []
    found: list[Translation] = []
    for language, block in raw.items():
        line = key_line(raw, language)
        where = f"translation '{language}'"
        if not isinstance(language, str) or not LANGUAGE_RE.match(language) or language == "en":
            check.add(line, f"{where}: use a language code other than en, such as fi or es")
            continue
        if not isinstance(block, LineDict):
            check.add(line, f"{where} must be a mapping (source, title, instructions, items)")
            continue
        check.fields(block, where, TRANSLATION_REQUIRED, TRANSLATION_OPTIONAL)
        source = check.text(block, "source", where)
        title = check.text(block, "title", where, 200)
        short_title = check.text(block, "short_title", where, 40)
        instructions = check.text(block, "instructions", where)
        labels = _labels(check, block, "options", where, len(options))
        texts: list[tuple[str, str]] = []
        item_labels: list[tuple[str, tuple[str, ...]]] = []
        raw_items = block.get("items")
        if "items" in block and not isinstance(raw_items, LineDict):
            check.add(key_line(block, "items"), f"{where}: 'items' maps each item id to its text")
            raw_items = None
        if isinstance(raw_items, LineDict):
            known = {i.id for i in items}
            for item_id in raw_items:
                if item_id not in known:
                    check.add(key_line(raw_items, item_id), f"{where}: no item '{item_id}'")
            for item in items:
                if item.id not in raw_items:
                    check.add(key_line(block, "items"), f"{where}: item '{item.id}' is missing")
                    continue
                value = raw_items[item.id]
                item_where = f"{where}, item '{item.id}'"
                if isinstance(value, LineDict):
                    check.fields(value, item_where, ["text"], ["options"])
                    text = check.text(value, "text", item_where)
                    if item.options:
                        own = _labels(check, value, "options", item_where, len(item.options))
                        item_labels.append((item.id, own))
                    elif "options" in value:
                        check.add(
                            key_line(value, "options"),
                            f"{item_where}: the item has no options of its own to translate",
                        )
                elif isinstance(value, str) and value.strip():
                    text = " ".join(value.split())
                    if item.options:
                        check.add(
                            key_line(raw_items, item.id),
                            f"{item_where}: give {{text, options}}; the item has its own options",
                        )
                else:
                    check.add(key_line(raw_items, item.id), f"{item_where} must be a text")
                    continue
                texts.append((item.id, text))
        if options and "options" not in block:
            check.add(block.line, f"{where} is missing the translated 'options'")
        found.append(
            Translation(
                language=language,
                source=source,
                title=title,
                short_title=short_title,
                instructions=instructions,
                option_labels=labels,
                item_texts=tuple(texts),
                item_option_labels=tuple(item_labels),
            )
        )
    return found


def _labels(
    check: _Checker, mapping: LineDict, name: str, where: str, count: int
) -> tuple[str, ...]:
    """A translated list of option labels, in the order of the English options' values."""
    if name not in mapping:
        return ()
    raw = mapping[name]
    if (
        not isinstance(raw, LineList)
        or len(raw) != count
        or not all(isinstance(label, str) and label.strip() for label in raw)
    ):
        check.add(
            key_line(mapping, name),
            f"{where}: '{name}' must list {count} labels, in the order of the English options",
        )
        return ()
    return tuple(" ".join(label.split()) for label in raw)


# Wording for the reader's language ----------------------------------------------------


def localized(instrument: Instrument, language: str | None = None) -> Instrument:
    """The instrument worded for `language` (default: the active one).

    With a shipped validated translation, its words; otherwise the English wording with a
    note, in the reader's language, saying why. Values, bands and safety rules are the
    same object's, so scoring and the safety pathway never depend on the language.
    """
    code = language or translation.get_language() or "en"
    if code.split("-")[0] == "en":
        return instrument
    return _localized(instrument, code)


@functools.lru_cache(maxsize=256)
def _localized(instrument: Instrument, language: str) -> Instrument:
    found = instrument.translation(language)
    if found is None:
        with translation.override(language):
            note = gettext(
                "This questionnaire is shown in English because its answers can only be "
                "compared with other people's when it is asked in the exact words of a "
                "tested translation, and we do not have one in your language yet. If a word "
                "is unclear, your care team can help."
            )
        return replace(instrument, language="en", language_note=note)
    texts = dict(found.item_texts)
    own = dict(found.item_option_labels)

    def relabel(options: tuple[Option, ...], labels: tuple[str, ...]) -> tuple[Option, ...]:
        if len(labels) != len(options):
            return options
        return tuple(Option(o.value, label) for o, label in zip(options, labels, strict=True))

    items = tuple(
        replace(
            item,
            text=texts.get(item.id, item.text),
            options=relabel(item.options, own.get(item.id, ())),
        )
        for item in instrument.items
    )
    return replace(
        instrument,
        title=found.title,
        short_title=found.short_title or instrument.short_title,
        instructions=found.instructions,
        items=items,
        options=relabel(instrument.options, found.option_labels),
        language=found.language,
        language_note="",
    )


def _safety_rules(
    check: _Checker, doc: LineDict, items: list[Item], options: tuple[Option, ...]
) -> list[SafetyRule]:
    raw = doc.get("safety_rules", [])
    if "safety_rules" not in doc:
        return []
    if not isinstance(raw, LineList):
        check.add(key_line(doc, "safety_rules"), "'safety_rules' must be a list")
        return []
    rules: list[SafetyRule] = []
    for index, entry in enumerate(raw):
        entry_line = raw.item_lines[index]
        where = f"safety rule {index + 1}"
        if not isinstance(entry, LineDict):
            check.add(entry_line, f"{where} must be {{item: ID, above: N, rule: name}}")
            continue
        check.fields(entry, where, ["item", "above", "rule"], [])
        item_id = entry.get("item")
        above = check.number(entry, "above", where)
        name = entry.get("rule")
        item = next((i for i in items if i.id == item_id), None)
        if "item" in entry and item is None and items:
            check.add(key_line(entry, "item"), f"{where}: there is no item {item_id!r}")
        if "rule" in entry and (not isinstance(name, str) or not RULE_RE.match(name)):
            check.add(
                key_line(entry, "rule"),
                f"{where}: rule {name!r} must be a lowercase name such as phq9_item9",
            )
            name = None
        if isinstance(name, str) and any(r.rule_name == name for r in rules):
            check.add(key_line(entry, "rule"), f"{where}: the rule name '{name}' is used twice")
            name = None
        if item is not None and above is not None:
            values = [o.value for o in (item.options or options)]
            if values and above >= max(values):
                check.add(
                    key_line(entry, "above"),
                    f"{where}: no answer to '{item.id}' is above {above}, so it would never fire",
                )
                continue
        if item is not None and above is not None and isinstance(name, str):
            rules.append(SafetyRule(item.id, above, name))
    return rules


def parse_instrument(
    text: str, *, file: str, source: str = ""
) -> tuple[Instrument | None, list[Problem]]:
    """Read one instrument file's text: the instrument (None if it has problems) and the
    problems, each with its line."""
    check = _Checker(file)
    loader = LineLoader(text)
    loader.duplicates = []
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        check.add(mark.line + 1 if mark else 1, f"YAML does not parse: {error.problem or error}")
        return None, check.problems
    except yaml.YAMLError as error:
        check.add(1, f"YAML does not parse: {error}")
        return None, check.problems
    finally:
        loader.dispose()
    for line, key, first in loader.duplicates:
        if first:
            check.add(line, f"'{key}' appears twice in the same block (first on line {first})")
        else:
            check.add(line, key)
    if not isinstance(document, LineDict):
        check.add(1, "an instrument file must be a mapping of fields (code, title, items...)")
        return None, check.problems
    instrument = _build(check, document, source)
    check.problems.sort(key=lambda p: p.line)
    return (None if check.problems else instrument), check.problems


def load_instrument_file(path: Path | str) -> tuple[Instrument | None, list[Problem]]:
    """Read and check one instrument file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Problem(path.name, 1, "the file is not UTF-8 text")]
    except OSError as error:
        return None, [Problem(path.name, 1, f"cannot read the file: {error.strerror}")]
    return parse_instrument(text, file=path.name, source=str(path))


def is_instrument_file(path: Path) -> bool:
    return path.is_file() and (
        path.name == INSTRUMENT_FILE or path.name.endswith(INSTRUMENT_SUFFIX)
    )


def find_instrument_files(folder: Path | str) -> list[Path]:
    """The instrument file at `folder`, or those in it and in the folders directly inside it:
    files named `instrument.yaml` or `NAME.instrument.yaml`."""
    folder = Path(folder)
    if folder.is_file():
        return [folder] if folder.suffix in (".yaml", ".yml") else []
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if is_instrument_file(p)]
    for child in folder.iterdir():
        if child.is_dir() and not child.name.startswith("."):
            found += [p for p in child.iterdir() if is_instrument_file(p)]
    return sorted(found)


def check_instruments(folder: Path | str) -> dict[Path, list[Problem]]:
    """Every problem in each instrument file at `folder`, by file (an empty list: clean).

    Besides each file's own problems, a code used twice, or a clinic file reusing the code
    of an instrument Trellis ships, is reported on the file's `code` line.
    """
    results: dict[Path, list[Problem]] = {}
    seen: dict[str, Path] = {}
    builtin = (
        {} if Path(folder).resolve() == BUILTIN_DIR else _load_folder(BUILTIN_DIR, strict=True)
    )
    for path in find_instrument_files(folder):
        instrument, problems = load_instrument_file(path)
        if instrument is not None:
            line = _code_line(path)
            if instrument.code in builtin:
                problems.append(
                    Problem(
                        path.name,
                        line,
                        f"code '{instrument.code}' is an instrument Trellis "
                        "ships; give the clinic's instrument its own code",
                    )
                )
            elif instrument.code in seen:
                problems.append(
                    Problem(
                        path.name,
                        line,
                        f"code '{instrument.code}' is also used by {seen[instrument.code].name}",
                    )
                )
            else:
                seen[instrument.code] = path
        results[path] = problems
    return results


def _code_line(path: Path) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("code:"):
            return number
    return 1


# The registry -------------------------------------------------------------------------


def _load_folder(folder: Path, *, strict: bool) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for path in find_instrument_files(folder):
        instrument, problems = load_instrument_file(path)
        if instrument is None:
            message = "; ".join(str(p) for p in problems)
            if strict:
                raise RuntimeError(f"shipped instrument {path} is broken: {message}")
            logger.error("instrument file %s skipped: %s", path, message)
            continue
        if instrument.code in found:
            logger.error("instrument file %s skipped: code %s used twice", path, instrument.code)
            continue
        found[instrument.code] = instrument
    return found


@functools.cache
def _registry(extra_dir: str) -> dict[str, Instrument]:
    instruments = _load_folder(BUILTIN_DIR, strict=True)
    if extra_dir:
        for code, instrument in _load_folder(Path(extra_dir), strict=False).items():
            if code in instruments:
                logger.error(
                    "clinic instrument %s (%s) skipped: Trellis ships an instrument with that code",
                    code,
                    instrument.source,
                )
                continue
            instruments[code] = instrument
    return instruments


def clear_cache() -> None:
    """Forget loaded instruments (after a clinic changes its folder; used by tests)."""
    _registry.cache_clear()


def extra_dir() -> str:
    return str(getattr(settings, "TRELLIS_INSTRUMENTS_DIR", "") or "")


def all_instruments() -> dict[str, Instrument]:
    """Every installed instrument by code: the shipped ones and the clinic's own."""
    return dict(_registry(extra_dir()))


def get_instrument(code: str) -> Instrument:
    """The instrument with this code, or UnknownInstrument."""
    instrument = _registry(extra_dir()).get(code) if isinstance(code, str) else None
    if instrument is None:
        raise UnknownInstrument(str(code))
    return instrument


def reliable_change(code: str) -> int:
    """How many points a total must move to count as a reliable change on this instrument:
    its file's `reliable_change` (PHQ-9 6, GAD-7 4 as shipped). The one figure the outcomes,
    the alert rules and the caseload all use.

    Raises UnknownInstrument, or ValueError when the file gives no reliable change.
    """
    change = get_instrument(code).reliable_change
    if change is None:
        raise ValueError(f"questionnaire {code!r} has no reliable_change in its file")
    return change


def caseness(code: str) -> int:
    """The total at or above which a score counts as a case on this instrument: its file's
    `caseness` (PHQ-9 10, GAD-7 8 as shipped). The one figure the outcomes use.

    Raises UnknownInstrument, or ValueError when the file gives no caseness.
    """
    threshold = get_instrument(code).caseness
    if threshold is None:
        raise ValueError(f"questionnaire {code!r} has no caseness in its file")
    return threshold
